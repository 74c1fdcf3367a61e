// parseMailArgs / parseRcptArgs on arbitrary arguments. The first byte picks the parser (and
// SMTPUTF8 for RCPT). An accepted path must be safe to relay: no brackets, no control octets,
// at most 254 octets (256 with the brackets), 8-bit only under SMTPUTF8, and parsing the
// relayed form "<path>" again must give the same path back.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "smtp/address.h"

namespace {

using namespace spamgate::smtp;

void check(bool ok) {
  if (!ok) std::abort();
}

void checkPath(std::string_view path, bool smtputf8) {
  check(path.size() + 2 <= kMaxPathLength);
  for (char c : path) {
    const auto octet = static_cast<unsigned char>(c);
    check(c != '<' && c != '>');
    check(octet >= 0x20 && octet != 0x7f);
    check(smtputf8 || octet < 0x80);
  }
}

void checkReply(const Reply& reply) {
  check(reply.code >= 500 && reply.code < 600);
  check(!reply.closes);
}

void fuzzMail(std::string_view arg) {
  auto parsed = parseMailArgs(arg);
  if (auto* reply = std::get_if<Reply>(&parsed)) return checkReply(*reply);
  const auto& args = std::get<MailArgs>(parsed);
  checkPath(args.reverse_path, args.smtputf8);
  check(args.relay_params.empty() || args.relay_params == "BODY=8BITMIME" ||
        args.relay_params == "SMTPUTF8" || args.relay_params == "BODY=8BITMIME SMTPUTF8");
  auto again =
      parseMailArgs("FROM:<" + args.reverse_path + ">" + (args.smtputf8 ? " SMTPUTF8" : ""));
  check(std::holds_alternative<MailArgs>(again));
  check(std::get<MailArgs>(again).reverse_path == args.reverse_path);
}

void fuzzRcpt(std::string_view arg, bool smtputf8) {
  auto parsed = parseRcptArgs(arg, smtputf8);
  if (auto* reply = std::get_if<Reply>(&parsed)) return checkReply(*reply);
  const auto& path = std::get<RcptArgs>(parsed).forward_path;
  check(!path.empty());
  checkPath(path, smtputf8);
  auto again = parseRcptArgs("TO:<" + path + ">", smtputf8);
  check(std::holds_alternative<RcptArgs>(again));
  check(std::get<RcptArgs>(again).forward_path == path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view arg(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      fuzzMail(arg);
      break;
    case 1:
      fuzzRcpt(arg, false);
      break;
    default:
      fuzzRcpt(arg, true);
      break;
  }
  return 0;
}
