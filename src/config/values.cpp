#include "config/values.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <string>

#include "config/dnsbl_code.h"

namespace spamgate::config::detail {
namespace {

uint16_t parsePort(std::string_view text) {
  unsigned value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) {
    throw ValueError("port must be a number");
  }
  if (value < 1 || value > 65535) throw ValueError("port must be between 1 and 65535");
  return static_cast<uint16_t>(value);
}

// inet_pton + inet_ntop: validates the address and gives one spelling per address.
std::string canonicalAddress(const std::string& host, int family) {
  std::array<unsigned char, sizeof(in6_addr)> binary{};
  if (inet_pton(family, host.c_str(), binary.data()) != 1) return {};
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (inet_ntop(family, binary.data(), text.data(), text.size()) == nullptr) return {};
  return text.data();
}

bool isControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

}  // namespace

Endpoint parseEndpoint(std::string_view text) {
  Endpoint endpoint;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) throw ValueError("missing ']' after IPv6 address");
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      throw ValueError("expected ':PORT' after ']'");
    }
    endpoint.host = canonicalAddress(std::string(text.substr(1, close - 1)), AF_INET6);
    if (endpoint.host.empty()) throw ValueError("not a numeric IPv6 address");
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) throw ValueError("expected ADDRESS:PORT");
    if (text.substr(0, colon).find(':') != std::string_view::npos) {
      throw ValueError("IPv6 addresses need brackets, as in \"[::1]:25\"");
    }
    endpoint.host = canonicalAddress(std::string(text.substr(0, colon)), AF_INET);
    if (endpoint.host.empty()) {
      throw ValueError("not a numeric IPv4 address (host names are not resolved)");
    }
    port = text.substr(colon + 1);
  }
  endpoint.port = parsePort(port);
  return endpoint;
}

Endpoint parseNameserver(std::string_view text) {
  constexpr uint16_t kDnsPort = 53;
  if (text.empty()) throw ValueError("must not be empty");
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    const std::string host =
        canonicalAddress(std::string(text.substr(1, text.size() - 2)), AF_INET6);
    if (host.empty()) throw ValueError("not a numeric IPv6 address");
    return Endpoint{host, kDnsPort};
  }
  const auto colons = std::count(text.begin(), text.end(), ':');
  if (colons == 0 || (colons >= 2 && text.front() != '[')) {
    const int family = colons == 0 ? AF_INET : AF_INET6;
    const std::string host = canonicalAddress(std::string(text), family);
    if (host.empty()) {
      throw ValueError(family == AF_INET
                           ? "not a numeric IPv4 address (host names are not resolved)"
                           : "not a numeric IPv6 address (with a port: \"[ADDRESS]:PORT\")");
    }
    return Endpoint{host, kDnsPort};
  }
  return parseEndpoint(text);
}

std::string parseDnsZone(std::string_view text) {
  // "f.e.d.c.b.a.9.8.7.6.5.4.3.2.1.0.f.e.d.c.b.a.9.8.7.6.5.4.3.2.1.0." is 64 octets.
  constexpr std::size_t kMaxZone = 253 - 64;
  if (text.size() > 1 && text.back() == '.') text.remove_suffix(1);
  checkHostname(text);
  if (text.size() > kMaxZone) {
    throw ValueError("longer than " + std::to_string(kMaxZone) +
                     " characters (IPv6 query names would exceed 253)");
  }
  return std::string(text);
}

void checkDnsblCode(std::string_view text) {
  parseDnsblCodePattern(text);
}

void checkHostname(std::string_view name) {
  if (name.empty()) throw ValueError("must not be empty");
  if (name.size() > 253) throw ValueError("longer than 253 characters");
  std::size_t label = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '.') {
      if (label == 0) throw ValueError("empty label in host name");
      label = 0;
      continue;
    }
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-') throw ValueError("host names allow only letters, digits, '-' and '.'");
    if (c == '-' && (label == 0 || i + 1 == name.size() || name[i + 1] == '.')) {
      throw ValueError("a label may not start or end with '-'");
    }
    if (++label > 63) throw ValueError("label longer than 63 characters");
  }
  if (label == 0) throw ValueError("empty label in host name");
}

void checkReplyText(std::string_view text, std::size_t max_length) {
  if (text.size() > max_length) {
    throw ValueError("longer than " + std::to_string(max_length) + " characters");
  }
  for (const char c : text) {
    if (isControl(c) || static_cast<unsigned char>(c) > 0x7e) {
      throw ValueError("only printable ASCII is allowed");
    }
  }
}

void checkPath(std::string_view path) {
  if (path.empty()) throw ValueError("must not be empty");
  for (const char c : path) {
    if (isControl(c)) throw ValueError("contains a control character");
  }
}

}  // namespace spamgate::config::detail
