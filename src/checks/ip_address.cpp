#include "checks/ip_address.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

namespace spamgate::checks {

namespace {

// ::ffff:0:0/96
bool isV4Mapped(const std::array<uint8_t, 16>& octets) {
  for (std::size_t i = 0; i < 10; ++i) {
    if (octets[i] != 0) return false;
  }
  return octets[10] == 0xff && octets[11] == 0xff;
}

// Hex digits, ':' and '.': inet_pton would stop at a NUL and ignore what follows it.
bool addressCharacters(std::string_view text) {
  for (char c : text) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != ':' && c != '.') return false;
  }
  return true;
}

}  // namespace

std::optional<IpAddress> parseIpAddress(std::string_view text) {
  if (text.empty() || text.size() > 64 || !addressCharacters(text)) return std::nullopt;
  const std::string copy(text);  // inet_pton wants a NUL-terminated string
  IpAddress address;
  in_addr v4{};
  if (inet_pton(AF_INET, copy.c_str(), &v4) == 1) {
    std::memcpy(address.octets.data(), &v4, sizeof v4);
    return address;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, copy.c_str(), &v6) != 1) return std::nullopt;
  std::memcpy(address.octets.data(), &v6, sizeof v6);
  if (isV4Mapped(address.octets)) {
    std::memmove(address.octets.data(), address.octets.data() + 12, 4);
    std::memset(address.octets.data() + 4, 0, 12);
    return address;
  }
  address.v6 = true;
  return address;
}

}  // namespace spamgate::checks
