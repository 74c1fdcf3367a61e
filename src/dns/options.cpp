#include "dns/options.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace spamgate::dns {

namespace {

constexpr uint16_t kDnsPort = 53;

bool parsePort(std::string_view text, uint16_t& port) {
  unsigned value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return false;
  }
  port = static_cast<uint16_t>(value);
  return true;
}

// Splits "a.b.c.d:port", "[v6]:port", "a.b.c.d" or "v6" into host and port.
bool splitHostPort(std::string_view text, std::string& host, uint16_t& port) {
  port = kDnsPort;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return true;
    return rest.front() == ':' && parsePort(rest.substr(1), port);
  }
  std::size_t colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    host = std::string(text.substr(0, colon));
    return parsePort(text.substr(colon + 1), port);
  }
  host = std::string(text);  // bare IPv4, or bare IPv6 (several colons)
  return true;
}

void applyResolvOption(const std::string& option, Options& options) {
  auto valueOf = [&](std::string_view key, unsigned& value) {
    if (option.rfind(key, 0) != 0) return false;
    std::string_view digits = std::string_view(option).substr(key.size());
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    return error == std::errc() && end == digits.data() + digits.size() && value > 0;
  };
  unsigned value = 0;
  if (valueOf("timeout:", value)) options.timeout = std::chrono::seconds(std::min(value, 30u));
  if (valueOf("attempts:", value)) options.attempts = std::min(value, 5u);
}

}  // namespace

bool Nameserver::matches(const sockaddr_storage& from, socklen_t from_length) const {
  if (from_length != length || from.ss_family != address.ss_family) return false;
  if (from.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(from);
    const auto& b = reinterpret_cast<const sockaddr_in&>(address);
    return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
  }
  if (from.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(from);
    const auto& b = reinterpret_cast<const sockaddr_in6&>(address);
    return a.sin6_port == b.sin6_port &&
           std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof a.sin6_addr) == 0;
  }
  return false;
}

std::optional<Nameserver> parseNameserver(std::string_view text) {
  std::string host;
  uint16_t port = 0;
  if (!splitHostPort(text, host, port)) return std::nullopt;
  Nameserver server;
  auto& v4 = reinterpret_cast<sockaddr_in&>(server.address);
  auto& v6 = reinterpret_cast<sockaddr_in6&>(server.address);
  if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    server.length = sizeof(sockaddr_in);
    server.text = host + ":" + std::to_string(port);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    server.length = sizeof(sockaddr_in6);
    server.text = "[" + host + "]:" + std::to_string(port);
  } else {
    return std::nullopt;
  }
  return server;
}

Options Options::fromResolvConf(const std::string& path) {
  Options options;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string keyword;
    words >> keyword;
    if (keyword == "nameserver") {
      std::string address;
      words >> address;
      // A bare address: IPv6 in brackets so that a port is never read into it.
      std::string entry = address.find(':') != std::string::npos ? "[" + address + "]" : address;
      if (parseNameserver(entry)) options.nameservers.push_back(entry);
    } else if (keyword == "options") {
      for (std::string option; words >> option;)
        applyResolvOption(option, options);
    }
  }
  if (options.nameservers.empty()) options.nameservers.push_back("127.0.0.1:53");
  return options;
}

}  // namespace spamgate::dns
