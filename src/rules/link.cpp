// Linking what the files defined: meta dependencies (unknown names, cycles, skipped
// dependencies), scores, descriptions, tflags, and which rules run at scan time.
#include <algorithm>
#include <charconv>
#include <deque>

#include "rules/loader.h"

namespace spamgate::rules::detail {
namespace {

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while (at < s.size()) {
    std::size_t end = s.find_first_of(" \t\r\v\f", at);
    if (end == std::string_view::npos) end = s.size();
    if (end > at) out.push_back(s.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::optional<double> parseNumber(std::string_view s) {
  if (s.starts_with('+')) s.remove_prefix(1);
  double value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

std::vector<std::string> dependencies(const Expression& e) {
  std::vector<std::string> out;
  for (const Node& node : e.nodes) {
    if (node.op == Op::Name && std::find(out.begin(), out.end(), node.name) == out.end()) {
      out.push_back(node.name);
    }
  }
  return out;
}

double defaultScore(const std::string& name) {
  if (name.starts_with("__")) return 0;
  if (name.starts_with("T_")) return 0.01;
  return 1.0;
}

}  // namespace

// Metas in dependency order (Kahn); those left over sit on a cycle or behind one.
std::vector<std::size_t> Loader::metaOrder() {
  constexpr std::size_t kNotMeta = static_cast<std::size_t>(-1);
  std::vector<std::vector<std::size_t>> dependents(rules_.size());
  std::vector<std::size_t> pending(rules_.size(), kNotMeta);
  std::deque<std::size_t> ready;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    if (rules_[i].name.empty() || rules_[i].kind != Kind::Meta) continue;
    pending[i] = 0;
    for (const std::string& dep : dependencies(rules_[i].meta)) {
      auto it = index_.find(dep);
      if (it == index_.end() || rules_[it->second].kind != Kind::Meta) continue;
      dependents[it->second].push_back(i);
      ++pending[i];
    }
    if (pending[i] == 0) ready.push_back(i);
  }
  std::vector<std::size_t> order;
  while (!ready.empty()) {
    std::size_t meta = ready.front();
    ready.pop_front();
    order.push_back(meta);
    for (std::size_t next : dependents[meta]) {
      if (--pending[next] == 0) ready.push_back(next);
    }
  }
  for (std::size_t meta = 0; meta < rules_.size(); ++meta) {
    if (pending[meta] == kNotMeta || pending[meta] == 0) continue;
    const Rule& rule = rules_[meta];
    error({rule.file, rule.line}, "meta " + rule.name + ": circular dependency");
    cycle_.push_back(meta);
  }
  return order;
}

void Loader::resolveMetas() {
  std::vector<std::size_t> order = metaOrder();
  for (std::size_t meta : cycle_)
    drop(rules_[meta].name, "broken");
  for (std::size_t meta : order) {
    Rule& rule = rules_[meta];
    for (const std::string& dep : dependencies(rule.meta)) {
      if (index_.contains(dep)) continue;
      if (auto it = unusable_.find(dep); it != unusable_.end()) {
        std::string reason = it->second.starts_with("meta needs ")
                                 ? it->second
                                 : "meta needs " + it->second + " rule";
        report_.notes.push_back(
            {rule.file, rule.line,
             "meta " + rule.name + " skipped: needs " + dep + " (" + it->second + ")"});
        skip(rule.name, reason);
        break;
      }
      const auto& known = options_.external_names;
      if (std::find(known.begin(), known.end(), dep) != known.end()) continue;
      error({rule.file, rule.line}, "meta " + rule.name + ": unknown rule " + dep);
      drop(rule.name, "broken");
      break;
    }
    if (!rule.name.empty()) meta_order_.push_back(rule.name);
  }
}

void Loader::applySettings(std::vector<Rule>& rules, const NameIndex& index) {
  auto known = [&](const std::string& name, const char* what, const Where& where) {
    if (index.contains(name)) return true;
    if (!unusable_.contains(name)) warning(where, std::string(what) + " for unknown rule " + name);
    return false;
  };
  for (Rule& rule : rules)
    rule.score = defaultScore(rule.name);
  for (const auto& [name, setting] : scores_) {
    std::vector<std::string_view> values = words(setting.value);
    std::vector<double> numbers;
    for (std::string_view v : values) {
      if (auto n = parseNumber(v)) numbers.push_back(*n);
    }
    if (numbers.size() != values.size() || (numbers.size() != 1 && numbers.size() != 4)) {
      error(setting.where, "score " + name + ": expected 1 or 4 numbers");
      continue;
    }
    if (!known(name, "score", setting.where)) continue;
    std::size_t set = numbers.size() == 1 ? 0 : std::min<std::size_t>(options_.score_set, 3);
    rules[index.at(name)].score = numbers[set];
  }
  for (const auto& [name, setting] : describes_) {
    if (known(name, "describe", setting.where)) rules[index.at(name)].description = setting.value;
  }
  for (const auto& [name, setting] : tflags_) {
    if (known(name, "tflags", setting.where)) applyTflags(rules[index.at(name)], setting);
  }
  for (Rule& rule : rules)
    rule.reported = !rule.name.starts_with("__") && rule.score != 0;
}

void Loader::applyTflags(Rule& rule, const Setting& setting) {
  for (std::string_view flag : words(setting.value)) {
    if (flag == "multiple") {
      rule.multiple = true;
    } else if (flag.starts_with("maxhits=")) {
      auto n = parseNumber(flag.substr(8));
      if (!n || *n < 1 || *n > kMaxMultiple ||
          *n != static_cast<double>(static_cast<unsigned>(*n))) {
        warning(setting.where, "tflags " + rule.name + ": bad " + std::string(flag));
        continue;
      }
      rule.maxhits = static_cast<unsigned>(*n);
    }
  }
}

// What runs at scan: reported rules, and whatever a running meta depends on.
void Loader::markNeeded(RuleSet& set, const NameIndex& index) {
  std::vector<uint32_t> work;
  for (uint32_t i = 0; i < set.rules.size(); ++i) {
    set.rules[i].needed = set.rules[i].reported;
    if (set.rules[i].needed && set.rules[i].kind == Kind::Meta) work.push_back(i);
  }
  while (!work.empty()) {
    const Rule& meta = set.rules[work.back()];
    work.pop_back();
    for (const Node& node : meta.meta.nodes) {
      if (node.op != Op::Name || node.external || set.rules[node.ref].needed) continue;
      set.rules[node.ref].needed = true;
      if (set.rules[node.ref].kind == Kind::Meta) work.push_back(node.ref);
    }
  }
  for (const std::string& name : meta_order_) {
    uint32_t i = index.at(name);
    if (set.rules[i].needed) set.meta_order.push_back(i);
  }
  indexLiterals(set);
}

// Header rules have no set: each reads its own short text, where PCRE2 alone is as quick.
void Loader::indexLiterals(RuleSet& set) {
  for (Rule& rule : set.rules) {
    if (!rule.needed || rule.kind == Kind::Header || rule.kind == Kind::Meta) continue;
    LiteralSet& literals = set.literals[static_cast<std::size_t>(rule.kind)];
    for (const std::string& literal : rule.literals)
      rule.literal_ids.push_back(literals.add(literal));
  }
}

void Loader::resolveNames(RuleSet& set, const NameIndex& index) {
  for (Rule& rule : set.rules) {
    for (Node& node : rule.meta.nodes) {
      if (node.op != Op::Name) continue;
      if (auto it = index.find(node.name); it != index.end()) {
        node.ref = it->second;
        continue;
      }
      auto [ext, added] =
          set.external_index.try_emplace(node.name, static_cast<uint32_t>(set.externals.size()));
      if (added) set.externals.push_back(node.name);
      node.external = true;
      node.ref = ext->second;
    }
  }
}

// Tags may be defined after the rules that use them: rewrite and recompile at the end.
void Loader::applyReplaceTags() {
  for (Rule& rule : rules_) {
    if (rule.name.empty() || !rule.re || !replace_.rules.contains(rule.name)) continue;
    std::optional<std::string> pattern = replaceTags(rule.pattern, replace_);
    if (pattern == rule.pattern) continue;
    std::string problem = "bad regex: too large after replace_tag";
    bool ok = false;
    if (pattern)
      ok = compile(rule, {std::move(*pattern), rule.flags, {}}, rule.extra_options, problem);
    if (!ok) {
      std::string name = rule.name;
      reject(rule.kind, name, {rule.file, rule.line}, problem);
    }
  }
}

std::shared_ptr<const RuleSet> Loader::finish() {
  applyReplaceTags();
  resolveMetas();
  auto set = std::make_shared<RuleSet>();
  set->options = options_;
  NameIndex index;
  for (Rule& rule : rules_) {
    if (rule.name.empty()) continue;
    index[rule.name] = static_cast<uint32_t>(set->rules.size());
    ++report_.loaded[std::string(kindName(rule.kind))];
    set->rules.push_back(std::move(rule));
  }
  rules_.clear();
  resolveNames(*set, index);
  applySettings(set->rules, index);
  markNeeded(*set, index);
  return set;
}

}  // namespace spamgate::rules::detail
