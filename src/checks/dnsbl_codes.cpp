#include "checks/dnsbl_codes.h"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace spamgate::checks {

CodeFilter CodeFilter::parse(const std::vector<std::string>& patterns) {
  CodeFilter filter;
  for (const auto& text : patterns) {
    try {
      filter.patterns_.push_back(config::parseDnsblCodePattern(text));
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument("dnsbl code '" + text + "': " + e.what());
    }
  }
  return filter;
}

bool CodeFilter::matches(uint32_t code) const {
  for (const auto& pattern : patterns_) {
    bool all = true;
    for (std::size_t i = 0; i < pattern.size() && all; ++i) {
      all = pattern[i].test((code >> (24 - 8 * i)) & 0xff);
    }
    if (all) return true;
  }
  return false;
}

std::optional<uint32_t> parseDnsblCode(std::string_view text) {
  std::array<char, INET_ADDRSTRLEN> buffer{};
  if (text.empty() || text.size() >= buffer.size()) return std::nullopt;
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  text.copy(buffer.data(), text.size());
  in_addr address{};
  if (inet_pton(AF_INET, buffer.data(), &address) != 1) return std::nullopt;
  return ntohl(address.s_addr);
}

std::string dnsblCodeText(uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

}  // namespace spamgate::checks
