// Numeric IP addresses as values, for comparing addresses from different sources (the client's
// socket, a HELO address literal, a DNS answer) by what they mean rather than how they are
// written: "::1" equals "0::1", and an IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a
// dual-stack socket reports for an IPv4 client) equals the IPv4 address. Pure, no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace spamgate::checks {

struct IpAddress {
  bool v6 = false;                   // false: the first 4 octets hold the IPv4 address
  std::array<uint8_t, 16> octets{};  // network order; unused octets are zero

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// Parses a numeric IPv4 (dotted quad) or IPv6 address, nothing else: no brackets, no port, no
// zone id, no names. IPv4-mapped IPv6 folds to IPv4. Empty when `text` is not one.
std::optional<IpAddress> parseIpAddress(std::string_view text);

}  // namespace spamgate::checks
