// MAIL FROM and RCPT TO arguments: the path and the ESMTP parameters, parsed into value types.
// Pure functions over untrusted input; every failure is the reply to send (RFC 5321 4.1.2,
// RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8). Lenient where Postfix is (a space after
// the colon, a path without angle brackets), strict where it matters (no 8-bit address
// without SMTPUTF8, paths of at most 256 octets, no unknown parameters).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "smtp/reply.h"

namespace spamgate::smtp {

enum class BodyType { SevenBit, EightBitMime };

struct MailArgs {
  std::string reverse_path;  // "local@domain" without brackets or source route; "" = null sender
  std::optional<uint64_t> size;
  BodyType body = BodyType::SevenBit;
  bool smtputf8 = false;
  std::string relay_params;  // what the backend should see: "BODY=8BITMIME SMTPUTF8"
};

struct RcptArgs {
  std::string forward_path;  // "local@domain", or "postmaster"
};

// `arg` is everything after "MAIL " / "RCPT ".
std::variant<MailArgs, Reply> parseMailArgs(std::string_view arg);
std::variant<RcptArgs, Reply> parseRcptArgs(std::string_view arg, bool smtputf8);

constexpr std::size_t kMaxPathLength = 256;  // RFC 5321 4.5.3.1.3, brackets included

}  // namespace spamgate::smtp
