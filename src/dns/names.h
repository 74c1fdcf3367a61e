// Domain-name helpers of the resolver: query-name normalisation and reverse names for PTR and
// DNSxL lookups. Pure functions, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace spamgate::dns {

// The name as the resolver keys and queries it: ASCII lower case, without the final dot.
// Empty when the name cannot be queried: empty, root only, empty label, a label over 63
// octets, over 255 octets in wire form, a space or control character.
std::optional<std::string> normalizeName(std::string_view name);
// ASCII lower case without the final dot, whatever the name holds: a key for names that
// come from records or other software (the check's own memo), never for a query.
std::string foldName(std::string_view name);

// The address's labels in reverse order, as DNSBLs and reverse zones want them:
// "127.0.0.2" -> "2.0.0.127"; IPv6 -> 32 nibbles, lowest first ("1.0.0.0...0.0"). An
// IPv4-mapped IPv6 address (::ffff:a.b.c.d, what dual-stack sockets report for an IPv4
// client) is treated as the IPv4 address. Empty for anything but a numeric address.
std::string reversedAddress(std::string_view ip);

// The PTR query name: reversedAddress() + ".in-addr.arpa" or ".ip6.arpa"; empty if not an IP.
std::string reverseName(std::string_view ip);

}  // namespace spamgate::dns
