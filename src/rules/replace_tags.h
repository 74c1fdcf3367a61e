// SpamAssassin's ReplaceTags plugin settings, and the rewrite of a listed rule's pattern.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

namespace spamgate::rules::detail {

struct ReplaceTags {
  std::map<std::string, std::string> tags, pre, post, inter;
  std::set<std::string> rules;  // replace_rules: the rules whose patterns are rewritten
};

// The rewritten pattern; nullopt when it grows past 1 MiB (tags that hold tags).
std::optional<std::string> replaceTags(std::string pattern, const ReplaceTags& config);

}  // namespace spamgate::rules::detail
