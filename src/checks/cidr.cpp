#include "checks/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>

namespace spamgate::checks {

namespace {

constexpr uint64_t kAllOnes = ~uint64_t{0};

bool addressCharacters(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
  });
}

uint64_t bigEndian(const uint8_t* octets, int count) {
  uint64_t value = 0;
  for (int i = 0; i < count; ++i) {
    value = (value << 8) | octets[i];
  }
  return value;
}

void putBigEndian(uint64_t value, uint8_t* out, int count) {
  for (int i = count - 1; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(value & 0xff);
    value >>= 8;
  }
}

using cidr_detail::Key;

Key keyOf(const IpAddress& ip) {
  if (!ip.v6) return Key{0, bigEndian(ip.octets.data(), 4)};
  return Key{bigEndian(ip.octets.data(), 8), bigEndian(ip.octets.data() + 8, 8)};
}

IpAddress addressOf(Key key, bool v6) {
  IpAddress ip;
  ip.v6 = v6;
  if (v6) {
    putBigEndian(key.high, ip.octets.data(), 8);
    putBigEndian(key.low, ip.octets.data() + 8, 8);
  } else {
    putBigEndian(key.low, ip.octets.data(), 4);
  }
  return ip;
}

// The host bits of a network: {high, low}.
std::pair<uint64_t, uint64_t> hostMask(bool v6, unsigned prefix) {
  const unsigned host = (v6 ? 128u : 32u) - prefix;
  if (host == 0) return {0, 0};
  if (host < 64) return {0, (uint64_t{1} << host) - 1};
  if (host == 64) return {0, kAllOnes};
  if (host == 128) return {kAllOnes, kAllOnes};
  return {(uint64_t{1} << (host - 64)) - 1, kAllOnes};
}

Key lastOf(Key first, bool v6, unsigned prefix) {
  const auto [high, low] = hostMask(v6, prefix);
  return Key{first.high | high, first.low | low};
}

std::optional<unsigned> parsePrefix(std::string_view text) {
  unsigned value = 0;
  if (text.empty() || text.size() > 3) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<CidrNetwork> fail(std::string* error, std::string reason) {
  if (error != nullptr) *error = std::move(reason);
  return std::nullopt;
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\f\v");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\f\v");
  return text.substr(first, last - first + 1);
}

// Bad input quoted in an error, cut short.
std::string quote(std::string_view text) {
  constexpr std::size_t kMax = 64;
  return "'" + std::string(text.substr(0, kMax)) + (text.size() > kMax ? "...'" : "'");
}

}  // namespace

bool CidrNetwork::contains(const IpAddress& ip) const {
  const auto key = keyOf(ip);
  const auto start = keyOf(first);
  return ip.v6 == first.v6 && start <= key && key <= lastOf(start, first.v6, prefix);
}

std::string CidrNetwork::text() const {
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  inet_ntop(first.v6 ? AF_INET6 : AF_INET, first.octets.data(), buffer.data(), buffer.size());
  return std::string(buffer.data()) + "/" + std::to_string(prefix);
}

std::optional<CidrNetwork> parseCidr(std::string_view text, std::string* error) {
  const auto slash = text.find('/');
  const auto written = text.substr(0, slash);
  auto address = addressCharacters(written) ? parseIpAddress(written) : std::nullopt;
  if (!address) return fail(error, "not an IP address");
  const bool mapped = !address->v6 && written.find(':') != std::string_view::npos;
  const unsigned bits = address->v6 || mapped ? 128 : 32;
  unsigned prefix = bits;
  if (slash != std::string_view::npos) {
    auto parsed = parsePrefix(text.substr(slash + 1));
    if (!parsed) return fail(error, "bad prefix length");
    if (*parsed > bits) return fail(error, "prefix length over " + std::to_string(bits));
    prefix = *parsed;
  }
  if (mapped && prefix < 96) return fail(error, "an IPv4-mapped network needs a prefix >= 96");
  CidrNetwork network{*address, mapped ? prefix - 96 : prefix};
  const auto key = keyOf(network.first);
  const auto [high, low] = hostMask(network.first.v6, network.prefix);
  if ((key.high & high) != 0 || (key.low & low) != 0) {
    network.first = addressOf({key.high & ~high, key.low & ~low}, network.first.v6);
    return fail(error, "host bits are set (the network is " + network.text() + ")");
  }
  return network;
}

CidrSet CidrSet::fromFiles(const std::vector<std::string>& paths) {
  CidrSet set;
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CidrError(path + ": cannot read: " + std::strerror(errno));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw CidrError(path + ": read error");
    set.files_.push_back(path);
    set.addText(text, static_cast<uint32_t>(set.files_.size() - 1));
  }
  set.index();
  return set;
}

CidrSet CidrSet::fromText(std::string_view text, const std::string& origin) {
  CidrSet set;
  set.files_.push_back(origin);
  set.addText(text, 0);
  set.index();
  return set;
}

void CidrSet::addText(std::string_view text, uint32_t file) {
  uint32_t number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    addLine(text.substr(0, end), file, ++number);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
}

void CidrSet::addLine(std::string_view line, uint32_t file, uint32_t number) {
  line = trim(line.substr(0, line.find_first_of("#;")));
  if (line.empty()) return;
  const auto where = files_[file] + ":" + std::to_string(number) + ": ";
  if (line.find_first_of(" \t") != std::string_view::npos) {
    throw CidrError(where + quote(line) + ": one network per line");
  }
  std::string error;
  auto network = parseCidr(line, &error);
  if (!network) throw CidrError(where + quote(line) + ": " + error);
  const auto first = keyOf(network->first);
  const auto last = lastOf(first, network->first.v6, network->prefix);
  auto& table = network->first.v6 ? v6_ : v4_;
  table.push_back(
      Entry{first, last, kNoParent, file, number, static_cast<uint8_t>(network->prefix)});
}

void CidrSet::index() {
  if (size() >= kNoParent) throw CidrError("too many list entries");
  indexTable(v4_);
  indexTable(v6_);
}

// Sorts by first address, outer networks before the ones they hold; drops repeated networks
// (keeping the first read); links each entry to its innermost enclosing entry.
void CidrSet::indexTable(std::vector<Entry>& table) {
  auto key = [](const Entry& e) { return std::pair(e.first, e.prefix); };
  std::stable_sort(table.begin(), table.end(),
                   [&](const Entry& a, const Entry& b) { return key(a) < key(b); });
  table.erase(std::unique(table.begin(), table.end(),
                          [&](const Entry& a, const Entry& b) { return key(a) == key(b); }),
              table.end());
  table.shrink_to_fit();
  std::vector<uint32_t> open;  // the chain of entries enclosing the current one
  for (uint32_t i = 0; i < table.size(); ++i) {
    while (!open.empty() && table[open.back()].last < table[i].first) {
      open.pop_back();
    }
    table[i].parent = open.empty() ? kNoParent : open.back();
    open.push_back(i);
  }
}

std::optional<CidrSet::Match> CidrSet::find(std::string_view ip) const {
  auto address = parseIpAddress(ip.substr(0, ip.find('%')));
  if (!address) return std::nullopt;
  return find(*address);
}

// The last entry starting at or before `ip` either holds it, or one of its enclosing entries
// is the innermost that does (CIDR networks never partly overlap).
std::optional<CidrSet::Match> CidrSet::find(const IpAddress& ip) const {
  const auto& table = ip.v6 ? v6_ : v4_;
  const auto key = keyOf(ip);
  auto it = std::upper_bound(table.begin(), table.end(), key,
                             [](const Key& k, const Entry& e) { return k < e.first; });
  if (it == table.begin()) return std::nullopt;
  auto index = static_cast<uint32_t>(std::distance(table.begin(), it) - 1);
  while (index != kNoParent) {
    if (key <= table[index].last) return matchOf(table[index], ip.v6);
    index = table[index].parent;
  }
  return std::nullopt;
}

CidrSet::Match CidrSet::matchOf(const Entry& entry, bool v6) const {
  const CidrNetwork network{addressOf(entry.first, v6), entry.prefix};
  return Match{network.text(), files_[entry.file] + ":" + std::to_string(entry.line)};
}

}  // namespace spamgate::checks
