// libFuzzer target: the Authentication-Results path (and the From parser, which shares the
// header walk) on untrusted bytes. The input is a message
// (headers, perhaps a body); the first line, if short, also serves as the authserv-id.
// Invariants: the remover only drops whole header fields (output no longer than the input,
// the body and everything after the last header field byte-identical, idempotent, no field
// naming us left), and the field we build from peer-controlled strings is one well-formed,
// folded field whose authserv-id reads back as ours.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/authentication_results.h"
#include "auth/from_header.h"
#include "policy/rewrite.h"

namespace {

using namespace spamgate::auth;

void require(bool condition) {
  if (!condition) std::abort();
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    const auto lx = x >= 'A' && x <= 'Z' ? x + 32 : x;
    const auto ly = y >= 'A' && y <= 'Z' ? y + 32 : y;
    if (lx != ly) return false;
  }
  return true;
}

void checkRemoval(std::string_view message, std::string_view id) {
  const std::string out =
      spamgate::policy::stampMessage("", message, spamgate::policy::Rewrite{id, ""});
  require(out.size() <= message.size());
  const auto fields = headerFields(message);
  const std::size_t tail = fields.empty() ? 0 : fields.back().end;
  require(message.size() - tail <= out.size());
  require(std::string_view(out).substr(out.size() - (message.size() - tail)) ==
          message.substr(tail));
  require(spamgate::policy::stampMessage("", out, spamgate::policy::Rewrite{id, ""}) == out);
  for (const HeaderField& field : headerFields(out)) {
    if (!iequals(field.name, "Authentication-Results")) continue;
    const auto found = authservId(field.value);
    require(!found || !iequals(*found, id));
  }
}

void checkBuilt(std::string_view id, std::string_view data) {
  AuthFacts facts;
  const std::size_t third = data.size() / 3;
  facts.spf = SpfOutcome{SpfResult::Pass, data.size() % 2 == 0, std::string(data.substr(0, third)),
                         std::string(data.substr(third, third)), ""};
  facts.dkim.push_back(DkimSignatureOutcome{DkimResult::Fail, std::string(data.substr(third)),
                                            std::string(data.substr(0, third / 2)), "", "",
                                            std::string(data.substr(2 * third)), ""});
  const std::string field = authenticationResultsHeader(id, facts);
  require(field.size() >= 2 && field.compare(field.size() - 2, 2, "\r\n") == 0);
  for (std::size_t i = 0; i + 2 < field.size(); ++i) {
    if (field[i] == '\n') require(field[i - 1] == '\r' && field[i + 1] == '\t');
    if (field[i] == '\r') require(field[i + 1] == '\n');
  }
  const auto fields = headerFields(field);
  require(fields.size() == 1 && fields[0].end == field.size());
  const auto found = authservId(fields[0].value);
  require(found.has_value() == !id.empty());
  const bool printable = std::all_of(
      id.begin(), id.end(), [](char c) { return static_cast<unsigned char>(c) >= 32 && c != 127; });
  if (found && printable) require(*found == id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t eol = input.find('\n');
  std::string_view id = input.substr(0, eol == std::string_view::npos ? 0 : eol);
  if (id.size() > 64) id = id.substr(0, 64);
  for (const HeaderField& field : headerFields(input)) {
    (void)authservId(field.value);
    (void)mailboxDomains(field.value);
  }
  const FromDomain from = fromDomain(input);
  if (from.status == FromStatus::Ok) {
    require(!from.domain.empty() && from.domains.size() == 1);
    require(std::none_of(from.domain.begin(), from.domain.end(),
                         [](char c) { return c >= 'A' && c <= 'Z'; }));
  }
  checkRemoval(input, "mx.example.net");
  checkRemoval(input, id);
  checkBuilt(id, input);
  return 0;
}
