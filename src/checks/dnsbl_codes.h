// Return-code filters of DNSBL/DNSWL zones: which A answers of a zone count as a listing
// (postscreen's "zone=127.0.0.[2..11]", in TOML as strings).
//
// Pattern syntax: config/dnsbl_code.h (one parser for the config and the check). A code
// matches the filter when it matches any of its patterns.
//
// The filter only says which codes a zone's operator wants counted; the DNSBL check still never
// counts answers outside 127.0.0.0/8 or error answers (127.255.255.0/24), whatever the filter.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/dnsbl_code.h"

namespace spamgate::checks {

class CodeFilter {
 public:
  CodeFilter() = default;  // no pattern: empty() is true, matches() false

  // Throws std::invalid_argument("dnsbl code 'PATTERN': reason") on a bad pattern.
  static CodeFilter parse(const std::vector<std::string>& patterns);

  bool empty() const { return patterns_.empty(); }
  // `code`: an IPv4 address in host order (127.0.0.2 is 0x7f000002).
  bool matches(uint32_t code) const;

 private:
  std::vector<config::DnsblCodePattern> patterns_;
};

// A DNSBL answer (dotted-quad IPv4) in host order; empty for anything else.
std::optional<uint32_t> parseDnsblCode(std::string_view text);
// "127.0.0.2" from 0x7f000002.
std::string dnsblCodeText(uint32_t address);

}  // namespace spamgate::checks
