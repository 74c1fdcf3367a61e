// quarantine::parseEntry on arbitrary bytes (a quarantine file edited by hand, or truncated).
// Invariants: an accepted entry has a valid id, and formatting its envelope back and parsing
// again gives the same envelope and message.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "quarantine/quarantine.h"

namespace {

using namespace spamgate::quarantine;

void check(bool ok) {
  if (!ok) std::abort();
}

bool sameEnvelope(const Envelope& a, const Envelope& b) {
  return a.id == b.id && a.time_ms == b.time_ms && a.client_ip == b.client_ip &&
         a.helo == b.helo && a.protocol == b.protocol && a.tls == b.tls &&
         a.mail_from == b.mail_from && a.rcpts == b.rcpts && a.action == b.action &&
         a.reason == b.reason;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto entry = parseEntry(text);
  if (!entry) return 0;
  check(validId(entry->envelope.id));
  const auto again = parseEntry(formatEnvelope(entry->envelope) + entry->message);
  check(again.has_value());
  check(sameEnvelope(entry->envelope, again->envelope));
  check(again->message == entry->message);
  return 0;
}
