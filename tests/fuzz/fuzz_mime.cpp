// parseMessage / mailboxes on arbitrary bytes. Invariants: every view is valid UTF-8 within its
// byte limit, the part count and depth stay within the limits, URIs are distinct and at most
// max_uris, and mailboxes() of any field value gives valid UTF-8.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "mime/detail.h"
#include "mime/message.h"

namespace {

using namespace spamgate::mime;

void check(bool ok) {
  if (!ok) std::abort();
}

void checkMessage(const Message& message, const Limits& limits) {
  check(message.body.size() <= limits.max_text_bytes);
  check(message.rawbody.size() <= limits.max_text_bytes);
  check(detail::isValidUtf8(message.body) && detail::isValidUtf8(message.rawbody));
  check(message.stats.parts <= limits.max_parts);
  check(message.stats.depth <= limits.max_depth);
  check(message.uris.size() <= limits.max_uris);
  check(std::set<std::string>(message.uris.begin(), message.uris.end()).size() ==
        message.uris.size());
  for (const std::string& uri : message.uris)
    check(detail::isValidUtf8(uri) && !uri.empty());
  for (const Header& header : message.headers) {
    check(!header.name.empty() && detail::isValidUtf8(header.decoded));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Limits small;
  small.max_depth = 3;
  small.max_parts = 8;
  small.max_text_bytes = 256;
  small.max_header_bytes = 1024;
  small.max_uris = 4;
  checkMessage(parseMessage(input, small), small);
  const Limits defaults;
  const Message message = parseMessage(input, defaults);
  checkMessage(message, defaults);
  for (const Header& header : message.headers) {
    for (const Mailbox& mailbox : mailboxes(header.raw)) {
      check(detail::isValidUtf8(mailbox.name) && detail::isValidUtf8(mailbox.address));
    }
  }
  return 0;
}
