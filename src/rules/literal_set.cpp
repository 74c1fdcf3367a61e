// One pass over a text for many required literals: a 64 Kbit filter on every 3-byte window,
// then the literals that begin with that window.
#include <array>

#include "base/ascii.h"
#include "rules/internal.h"

namespace spamgate::rules::detail {
namespace {

constexpr uint32_t kWindowMask = 0xffffff;

constexpr std::array<uint8_t, 256> kLower = [] {
  std::array<uint8_t, 256> table{};
  for (std::size_t i = 0; i < table.size(); ++i)
    table[i] = static_cast<uint8_t>(base::asciiLower(static_cast<char>(i)));
  return table;
}();

uint8_t lowerByte(char c) {
  return kLower[static_cast<uint8_t>(c)];
}

// The literal's first three bytes, as the scan's rolling window holds them.
uint32_t windowOf(std::string_view literal) {
  return static_cast<uint32_t>(static_cast<uint8_t>(literal[0])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(literal[1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(literal[2]));
}

uint32_t filterBit(uint32_t window) {
  return (window * 2654435761u) >> 16;
}

bool equalsLowered(std::string_view text, std::string_view literal) {
  if (text.size() < literal.size()) return false;
  for (std::size_t i = 0; i < literal.size(); ++i) {
    if (lowerByte(text[i]) != static_cast<uint8_t>(literal[i])) return false;
  }
  return true;
}

}  // namespace

uint32_t LiteralSet::add(const std::string& literal) {
  auto [it, added] = ids_.try_emplace(literal, static_cast<uint32_t>(literals_.size()));
  if (!added) return it->second;
  literals_.push_back(literal);
  const uint32_t window = windowOf(literal);
  const uint32_t bit = filterBit(window);
  filter_[bit / 64] |= uint64_t{1} << (bit % 64);
  by_window_[window].push_back(it->second);
  return it->second;
}

void LiteralSet::find(std::string_view text, std::vector<uint8_t>& found) const {
  found.assign(literals_.size(), 0);
  if (text.size() < kMinLiteral) return;
  uint32_t window = uint32_t{lowerByte(text[0])} << 8 | lowerByte(text[1]);
  for (std::size_t i = 2; i < text.size(); ++i) {
    window = (window << 8 | lowerByte(text[i])) & kWindowMask;
    const uint32_t bit = filterBit(window);
    if ((filter_[bit / 64] & (uint64_t{1} << (bit % 64))) == 0) continue;
    auto it = by_window_.find(window);
    if (it == by_window_.end()) continue;
    for (uint32_t id : it->second) {
      if (found[id] == 0 && equalsLowered(text.substr(i - 2), literals_[id])) found[id] = 1;
    }
  }
}

}  // namespace spamgate::rules::detail
