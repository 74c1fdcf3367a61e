// Pure parsers for the config's scalar values (internal to the config module). Each returns the
// parsed value or throws ValueError carrying only the reason; the caller adds file, line and key.
// No I/O, no DNS: hostnames are checked for syntax only, addresses must be numeric.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "config/config.h"

namespace spamgate::config::detail {

class ValueError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "192.0.2.1:25" or "[2001:db8::1]:25"; port 1-65535. The host comes back in canonical form
// (inet_ntop), so "[0::1]:25" and "[::1]:25" compare equal.
Endpoint parseEndpoint(std::string_view text);

// A nameserver: as parseEndpoint(), or a bare address ("192.0.2.53", "2001:db8::53",
// "[2001:db8::53]") meaning port 53. Without brackets, text with two or more ':' is all address.
Endpoint parseNameserver(std::string_view text);

// A DNSBL zone: a host name by checkHostname(), one trailing '.' allowed and removed, short
// enough that the IPv6 query name (32 nibble labels + zone) stays within 253 octets.
std::string parseDnsZone(std::string_view text);

// A DNSBL reply-code filter (config/dnsbl_code.h), checked for syntax only.
void checkDnsblCode(std::string_view text);

// A DNS name by RFC 1123 syntax. It ends up in SMTP replies and EHLO, so anything that could
// break a reply line (CR, LF, spaces) must be refused here.
void checkHostname(std::string_view name);

// Printable ASCII only, at most `max_length` octets: the text goes into a reply line verbatim.
void checkReplyText(std::string_view text, std::size_t max_length);

// Non-empty and free of control characters (a NUL would silently truncate the C path).
void checkPath(std::string_view path);

}  // namespace spamgate::config::detail
