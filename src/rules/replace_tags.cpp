// SpamAssassin's ReplaceTags (replace_tag, replace_pre, replace_post, replace_inter,
// replace_rules): the only plugin spamgate behaves as loaded, as its stock rules rely on it.
// A pattern is cut into text and <TAG> pieces; <pre X>, <post X>, <inter X> in the pattern
// put the named expression before each tag, after each tag, and between adjacent tags; tags
// are replaced by their expressions, again while a replacement holds tags (at most 6 passes).
#include "rules/replace_tags.h"

#include <string_view>
#include <vector>

namespace spamgate::rules::detail {
namespace {

constexpr int kMaxPasses = 6;
// Tags that hold tags can grow a pattern geometrically; PCRE2 refuses far less than this.
constexpr std::size_t kMaxPatternBytes = 1 << 20;

struct Piece {
  std::string text;
  bool tag = false;
};

// Removes the first "<kind NAME>" from the pattern and returns NAME.
std::string takeModifier(std::string& pattern, std::string_view kind) {
  std::string open = "<" + std::string(kind) + " ";
  std::size_t at = pattern.find(open);
  if (at == std::string::npos) return {};
  std::size_t close = pattern.find('>', at + open.size());
  if (close == std::string::npos || close == at + open.size()) return {};
  std::string name = pattern.substr(at + open.size(), close - at - open.size());
  pattern.erase(at, close - at + 1);
  return name;
}

// Text and "<...>" pieces (no '<' or '>' inside a tag); an empty text piece between adjacent
// tags and before a leading tag, none at the end.
std::vector<Piece> cut(const std::string& pattern) {
  std::vector<Piece> pieces{{}};
  std::size_t at = 0;
  while (at < pattern.size()) {
    std::size_t end = pattern[at] == '<' ? pattern.find_first_of("<>", at + 1) : std::string::npos;
    if (end != std::string::npos && pattern[end] == '>' && end > at + 1) {
      pieces.push_back({pattern.substr(at, end - at + 1), true});
      pieces.push_back({});
      at = end + 1;
    } else {
      pieces.back().text += pattern[at++];
    }
  }
  while (!pieces.empty() && !pieces.back().tag && pieces.back().text.empty())
    pieces.pop_back();
  return pieces;
}

const std::string* lookup(const std::map<std::string, std::string>& table,
                          const std::string& name) {
  auto it = table.find(name);
  return it == table.end() || it->second.empty() ? nullptr : &it->second;
}

bool holdsTag(const std::string& text) {
  std::size_t open = text.find('<');
  return open != std::string::npos && text.find('>', open + 2) != std::string::npos;
}

// One pass; true when a replacement brought in more tags. Stops early past kMaxPatternBytes.
bool replaceOnce(std::string& pattern, const ReplaceTags& config) {
  const std::string* pre = lookup(config.pre, takeModifier(pattern, "pre"));
  const std::string* post = lookup(config.post, takeModifier(pattern, "post"));
  const std::string* inter = lookup(config.inter, takeModifier(pattern, "inter"));
  bool again = false;
  std::string out;
  for (const Piece& piece : cut(pattern)) {
    if (out.size() > kMaxPatternBytes) break;
    if (!piece.tag) {
      out += piece.text.empty() && inter != nullptr ? *inter : piece.text;
      continue;
    }
    std::string name = piece.text.substr(1, piece.text.size() - 2);
    const std::string* value = lookup(config.tags, name);
    if (value != nullptr && holdsTag(*value)) again = true;
    if (pre != nullptr) out += *pre;
    out += value != nullptr ? *value : piece.text;
    if (post != nullptr) out += *post;
  }
  pattern = std::move(out);
  return again;
}

}  // namespace

std::optional<std::string> replaceTags(std::string pattern, const ReplaceTags& config) {
  for (int pass = 0; pass < kMaxPasses && replaceOnce(pattern, config); ++pass) {
    if (pattern.size() > kMaxPatternBytes) break;
  }
  if (pattern.size() > kMaxPatternBytes) return std::nullopt;
  return pattern;
}

}  // namespace spamgate::rules::detail
