// The DNSBL return-code pattern language, postscreen's "zone=127.0.0.[2..11]" in TOML strings:
// four dot-separated octets, each a number N (0-255) or a bracketed list of numbers and ranges
// N..M separated by ';' ("127.0.0.2", "127.0.0.[2..11]", "127.0.[0;1].[2;4..6]"). One parser
// for both uses: the config validates the patterns at load (errors get file, line and key),
// and the DNSBL check matches answers with the parsed form.
#pragma once

#include <array>
#include <bitset>
#include <string_view>

namespace spamgate::config {

// The values each octet may take.
using DnsblCodePattern = std::array<std::bitset<256>, 4>;

// Throws a std::runtime_error "octet N: reason" (or a whole-pattern reason) on bad syntax.
DnsblCodePattern parseDnsblCodePattern(std::string_view text);

}  // namespace spamgate::config
