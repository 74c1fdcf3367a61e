// Reading rules files: lines, comments, include, if/ifplugin/else/endif, directives.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "base/ascii.h"
#include "rules/loader.h"

namespace spamgate::rules::detail {
namespace {

constexpr int kMaxIncludeDepth = 16;

// SpamAssassin's version as `if (version >= ...)` sees it: the rules written for 4.0.
constexpr double kVersion = 4.000000;
constexpr double kPerlVersion = 5.036000;

bool isSpace(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back()))
    s.remove_suffix(1);
  return s;
}

bool isRelayPseudoField(std::string_view name) {
  static constexpr std::string_view kAll[] = {"ALL-TRUSTED", "ALL-INTERNAL", "ALL-UNTRUSTED",
                                              "ALL-EXTERNAL"};
  return std::find(std::begin(kAll), std::end(kAll), name) != std::end(kAll) ||
         base::equalsIgnoreCase(name.substr(0, 14), "X-Spam-Relays-");
}

// First word and the trimmed rest.
std::pair<std::string_view, std::string_view> splitWord(std::string_view s) {
  s = trim(s);
  std::size_t end = 0;
  while (end < s.size() && !isSpace(s[end]))
    ++end;
  return {s.substr(0, end), trim(s.substr(end))};
}

// Comments start at an unescaped '#'; "\#" is a literal '#'.
std::string stripComment(std::string_view line) {
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#') break;
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '#') {
      out += '#';
      ++i;
      continue;
    }
    out += line[i];
  }
  return out;
}

bool validName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

std::optional<Kind> ruleKind(std::string_view directive) {
  if (directive == "header") return Kind::Header;
  if (directive == "body") return Kind::Body;
  if (directive == "rawbody") return Kind::Rawbody;
  if (directive == "uri") return Kind::Uri;
  if (directive == "full") return Kind::Full;
  if (directive == "meta") return Kind::Meta;
  return std::nullopt;
}

// Rule types that SpamAssassin's plugins add: their rules are skipped, their names known.
bool isPluginRuleType(std::string_view directive) {
  static const std::set<std::string_view> kTypes = {"mimeheader", "uri_detail", "askdns",
                                                    "urirhssub",  "urirhsbl",   "uridnsbl",
                                                    "uridnssub",  "hashbl_acl", "check_hashbl"};
  return kTypes.contains(directive);
}

// SpamAssassin settings that do not define rules: accepted and ignored.
bool isIgnoredSetting(std::string_view directive) {
  // clang-format off
  static const std::set<std::string_view> kExact = {
      "lang", "reuse", "priority", "test", "require_version", "version_tag", "required_score",
      "required_hits", "report", "add_header", "remove_header", "rewrite_header",
      "unsafe_report", "ok_locales", "ok_languages", "normalize_charset", "loadplugin",
      "tryplugin", "shortcircuit", "redirector_pattern", "freemail_domains", "url_shortener",
      "url_shortener_get", "enlist_uri_host", "enlist_addrlist", "delist_uri_host",
      "adsp_override", "trusted_networks", "internal_networks", "msa_networks",
      "envelope_sender_header", "originating_ip_headers", "fold_headers", "use_bayes",
      "use_auto_whitelist", "use_auto_welcomelist", "skip_rbl_checks", "rbl_timeout",
      "asn_lookup", "fns_ignore_headers", "fns_ignore_dkim", "fns_check", "dns_block_rule",
      "subjprefix"};
  static const std::string_view kPrefixes[] = {
      "whitelist_", "welcomelist_", "blacklist_", "blocklist_", "def_", "unwhitelist_",
      "unblacklist_", "bayes_", "dns_", "clear_", "report_", "dkim_", "adsp_", "spf_", "dcc_",
      "pyzor_", "razor_", "uridnsbl_", "util_rb_", "freemail_", "txrep_", "auto_whitelist_",
      "auto_welcomelist_", "askdns_", "hashbl_", "urirhsbl_", "dmarc_", "textcat_", "pdfinfo_",
      "rbl_", "uribl_", "header_"};
  // clang-format on
  if (kExact.contains(directive)) return true;
  return std::any_of(std::begin(kPrefixes), std::end(kPrefixes),
                     [&](std::string_view p) { return directive.starts_with(p); });
}

// The plugins whose work spamgate does itself; the blocks of any other are skipped.
bool isLoadedPlugin(std::string_view name) {
  return trim(name) == "Mail::SpamAssassin::Plugin::ReplaceTags";
}

std::string directoryOf(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

}  // namespace

void Loader::error(const Where& where, std::string message) {
  report_.errors.push_back({where.file, where.line, std::move(message)});
}

void Loader::warning(const Where& where, std::string message) {
  report_.warnings.push_back({where.file, where.line, std::move(message)});
}

void Loader::loadPath(const std::string& path, int depth) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (entry.path().extension() == ".cf") files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    for (const std::string& file : files)
      loadPath(file, depth);
    return;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error({path, 0}, "cannot read " + path);
    return;
  }
  std::ostringstream text;
  text << in.rdbuf();
  loadText(text.str(), path, depth);
}

void Loader::loadText(std::string_view text, const std::string& origin, int depth) {
  ++report_.files;
  directory_.push_back(directoryOf(origin));
  std::size_t frames_at_start = frames_.size();
  Where where{origin, 0};
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view raw = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++where.line;
    line(raw, where, depth);
  }
  if (frames_.size() > frames_at_start) {
    error(where, "if or ifplugin without endif");
    frames_.resize(frames_at_start);
  }
  directory_.pop_back();
}

void Loader::line(std::string_view text, const Where& where, int depth) {
  std::string clean = stripComment(text);
  auto [name, rest] = splitWord(clean);
  if (name.empty()) return;
  if (conditional(name, rest, where)) return;
  if (!active()) {
    inactiveLine(name, rest);
    return;
  }
  directive(name, rest, where, depth);
}

bool Loader::conditional(std::string_view directive, std::string_view rest, const Where& where) {
  bool outer = active();
  // Lines inside a skipped block keep that block's reason, whatever nests in it.
  const char* inherited = outer ? nullptr : frames_.back().reason;
  if (directive == "ifplugin") {
    frames_.push_back(
        {outer && isLoadedPlugin(rest), outer, inherited ? inherited : "plugin block"});
  } else if (directive == "if") {
    bool value = outer && evaluateCondition(rest, where);
    frames_.push_back({value, outer, inherited ? inherited : "conditional block"});
  } else if (directive == "else") {
    if (frames_.empty()) {
      error(where, "else without if");
    } else {
      frames_.back().active = frames_.back().outer_active && !frames_.back().active;
    }
  } else if (directive == "endif") {
    if (frames_.empty()) {
      error(where, "endif without if");
    } else {
      frames_.pop_back();
    }
  } else {
    return false;
  }
  return true;
}

bool Loader::evaluateCondition(std::string_view text, const Where& where) {
  std::string problem;
  auto expression = parseExpression(text, true, problem);
  if (!expression) {
    error(where, "bad if condition: " + problem);
    return false;
  }
  auto leaf = [&](const Node& node) -> double {
    if (node.op == Op::Name) {
      if (node.name == "version") return kVersion;
      if (node.name == "perl_version") return kPerlVersion;
      if (problem.empty()) problem = "unknown name '" + node.name + "' in if condition";
      return 0;
    }
    if (node.name == "can") return node.arg.find("perl_min_version_") != std::string::npos;
    if (node.name == "plugin") return isLoadedPlugin(node.arg);
    if (node.name == "has") return 0;
    if (problem.empty()) problem = "unknown function '" + node.name + "' in if condition";
    return 0;
  };
  double value = evaluate(*expression, leaf);
  if (!problem.empty()) warning(where, problem);
  return value != 0;
}

void Loader::inactiveLine(std::string_view directive, std::string_view rest) {
  if (!ruleKind(directive) && !isPluginRuleType(directive)) return;
  std::string_view name = splitWord(rest).first;
  if (!validName(name)) return;
  std::string reason = frames_.back().reason;
  ++report_.skipped[reason];
  unusable_.try_emplace(std::string(name), reason);
}

void Loader::directive(std::string_view name, std::string_view rest, const Where& where,
                       int depth) {
  if (auto kind = ruleKind(name)) {
    defineRule(*kind, rest, where);
  } else if (name == "score" || name == "describe" || name == "tflags") {
    auto [rule, value] = splitWord(rest);
    if (!validName(rule)) {
      error(where, std::string(name) + ": bad rule name '" + std::string(rule) + "'");
      return;
    }
    Setting setting{std::string(value), 0, where};
    if (name == "score") {
      scores_[std::string(rule)] = std::move(setting);
    } else if (name == "describe") {
      describes_[std::string(rule)] = std::move(setting);
    } else {
      tflags_[std::string(rule)] = std::move(setting);
    }
  } else if (name.starts_with("replace_")) {
    if (!replaceSetting(name, rest, where)) {
      warning(where, "unknown directive '" + std::string(name) + "'");
      ++report_.skipped["unknown directive"];
    }
  } else if (name == "include") {
    include(rest, where, depth);
  } else if (isPluginRuleType(name)) {
    std::string_view rule = splitWord(rest).first;
    if (validName(rule)) skip(rule, "plugin");
  } else if (!isIgnoredSetting(name)) {
    warning(where, "unknown directive '" + std::string(name) + "'");
    ++report_.skipped["unknown directive"];
  }
}

bool Loader::replaceSetting(std::string_view name, std::string_view rest, const Where& where) {
  auto [key, value] = splitWord(rest);
  if (name == "replace_rules") {
    while (!rest.empty()) {
      auto [rule, more] = splitWord(rest);
      replace_.rules.emplace(rule);
      rest = more;
    }
    return true;
  }
  if (name == "replace_start" || name == "replace_end") {
    if (key != (name == "replace_start" ? "<" : ">")) {
      warning(where, std::string(name) + " other than < and > is not supported");
    }
    return true;
  }
  std::map<std::string, std::string>* table = name == "replace_tag"     ? &replace_.tags
                                              : name == "replace_pre"   ? &replace_.pre
                                              : name == "replace_post"  ? &replace_.post
                                              : name == "replace_inter" ? &replace_.inter
                                                                        : nullptr;
  if (table == nullptr) return false;
  if (key.empty()) {
    error(where, std::string(name) + " without a tag name");
  } else {
    (*table)[std::string(key)] = std::string(value);
  }
  return true;
}

void Loader::include(std::string_view rest, const Where& where, int depth) {
  if (rest.empty()) {
    error(where, "include without a file name");
    return;
  }
  if (depth >= kMaxIncludeDepth) {
    error(where, "include nested too deeply");
    return;
  }
  std::filesystem::path path(rest);
  if (path.is_relative()) path = std::filesystem::path(directory_.back()) / path;
  loadPath(path.string(), depth + 1);
}

void Loader::skip(std::string_view name, const std::string& reason) {
  ++report_.skipped[reason];
  drop(name, reason);
}

// A later definition wins, even one that cannot run: the earlier one goes.
void Loader::drop(std::string_view name, const std::string& reason) {
  std::string key(name);
  if (auto it = index_.find(key); it != index_.end()) {
    rules_[it->second].name.clear();
    index_.erase(it);
  }
  unusable_[key] = reason;
}

void Loader::keep(Rule rule) {
  if (auto it = index_.find(rule.name); it != index_.end()) {
    Rule& old = rules_[it->second];
    warning({rule.file, rule.line}, "duplicate rule " + rule.name + " (also defined at " +
                                        old.file + ":" + std::to_string(old.line) +
                                        "): the later definition wins");
    old.name.clear();
  }
  unusable_.erase(rule.name);
  index_[rule.name] = rules_.size();
  rules_.push_back(std::move(rule));
}

void Loader::defineRule(Kind kind, std::string_view rest, const Where& where) {
  auto [name, spec] = splitWord(rest);
  if (!validName(name)) {
    error(where, std::string(kindName(kind)) + ": bad rule name '" + std::string(name) + "'");
    return;
  }
  if (spec.starts_with("eval:")) {
    skip(name, "eval");
    return;
  }
  Rule rule;
  rule.name = std::string(name);
  rule.kind = kind;
  rule.file = where.file;
  rule.line = where.line;
  std::string problem;
  bool ok = false;
  if (kind == Kind::Meta) {
    auto expression = parseExpression(spec, false, problem);
    if (expression) rule.meta = std::move(*expression);
    ok = expression.has_value();
  } else if (kind == Kind::Header) {
    ok = parseHeader(rule, spec, problem);
  } else {
    uint32_t extra = kind == Kind::Body || kind == Kind::Rawbody ? PCRE2_MULTILINE : 0;
    ok = compileInto(rule, spec, extra, problem);
  }
  if (ok) {
    keep(std::move(rule));
  } else {
    reject(kind, name, where, problem);
  }
}

void Loader::reject(Kind kind, std::string_view name, const Where& where,
                    const std::string& problem) {
  if (problem.starts_with("skip:")) {
    skip(name, problem.substr(5));
    return;
  }
  std::string message = "rule " + std::string(name) + ": " + problem;
  bool regex_failure = isRegexKind(kind) && problem.starts_with("bad regex");
  if (regex_failure) ++report_.failed[std::string(kindName(kind))];
  if (regex_failure && options_.skip_bad_regex) {
    warning(where, std::move(message));
    skip(name, "bad regex");
  } else {
    error(where, std::move(message));
    drop(name, "broken");
  }
}

bool Loader::compileInto(Rule& rule, std::string_view text, uint32_t extra, std::string& error) {
  auto delimited = splitDelimited(text, error);
  if (!delimited) return false;
  if (!trim(delimited->rest).empty()) {
    error = "unexpected text after the regex: '" + std::string(trim(delimited->rest)) + "'";
    return false;
  }
  return compile(rule, *delimited, extra, error);
}

// What lets a scan skip the regex: its required literals, and for the long texts a pattern
// PCRE2 finds quicker that matches wherever the rule's does.
void Loader::addShortcuts(Rule& rule, const Delimited& re, uint32_t extra) const {
  std::size_t jit_size = 0;
  rule.jit = pcre2_pattern_info(rule.re.get(), PCRE2_INFO_JITSIZE, &jit_size) == 0 && jit_size > 0;
  rule.literals = requiredLiterals(re.pattern, re.flags, extra);
  rule.prefilter = nullptr;
  const bool long_text =
      rule.kind == Kind::Body || rule.kind == Kind::Rawbody || rule.kind == Kind::Full;
  std::string core = long_text ? prefilterPattern(re.pattern, re.flags, extra) : "";
  if (core.empty()) return;
  std::string ignored;
  rule.prefilter = compileRegex({std::move(core), re.flags, {}}, extra, options_.jit, ignored);
}

bool Loader::compile(Rule& rule, const Delimited& re, uint32_t extra, std::string& error) {
  rule.pattern = re.pattern;
  rule.flags = re.flags;
  rule.extra_options = extra;
  rule.re = compileRegex(re, extra, options_.jit, error);
  if (rule.re == nullptr) return false;
  addShortcuts(rule, re, extra);
  return true;
}

bool Loader::parseHeader(Rule& rule, std::string_view spec, std::string& error) {
  HeaderSpec& header = rule.header;
  if (spec.starts_with("exists:")) {
    std::string_view name = trim(spec.substr(7));
    if (name.ends_with(':')) name.remove_suffix(1);
    header.exists = true;
    if (name.empty() || !splitWord(name).second.empty() || name.find(':') != name.npos) {
      error = "bad header name in exists:";
      return false;
    }
    return pseudoField(header, name, error);
  }
  std::size_t op = std::min(spec.find("=~"), spec.find("!~"));
  if (op == std::string_view::npos) {
    error = "expected =~ or !~ after the header name";
    return false;
  }
  header.negate = spec[op] == '!';
  if (!parseField(header, trim(spec.substr(0, op)), error)) return false;
  auto delimited = splitDelimited(trim(spec.substr(op + 2)), error);
  if (!delimited) return false;
  std::string_view rest = trim(delimited->rest);
  if (rest.starts_with("[if-unset:") && rest.ends_with("]")) {
    header.if_unset = std::string(trim(rest.substr(10, rest.size() - 11)));
  } else if (!rest.empty()) {
    error = "unexpected text after the regex: '" + std::string(rest) + "'";
    return false;
  }
  return compile(rule, *delimited, 0, error);
}

// "Name[:raw|:addr|:name]".
bool Loader::parseField(HeaderSpec& header, std::string_view text, std::string& error) {
  std::size_t colon = text.find(':');
  std::string_view name = text.substr(0, colon);
  if (name.empty() || !splitWord(name).second.empty()) {
    error = "bad header name '" + std::string(name) + "'";
    return false;
  }
  if (!pseudoField(header, name, error)) return false;
  while (colon != std::string_view::npos) {
    text = text.substr(colon + 1);
    colon = text.find(':');
    std::string_view modifier = text.substr(0, colon);
    if (modifier == "raw") {
      if (header.view == HeaderView::Decoded) header.view = HeaderView::Raw;
    } else if (modifier == "addr") {
      header.view = HeaderView::Addr;
    } else if (modifier == "name") {
      header.view = HeaderView::Name;
    } else {
      error = "skip:header modifier";
      return false;
    }
  }
  return true;
}

// SpamAssassin's pseudo-fields: ALL, MESSAGEID and ALL-* are all-capitals and matched as
// written; ToCc, EnvelopeFrom and X-Spam-Relays-* case-insensitively. Those that need data a
// message does not carry (the relays' trust, the envelope) cannot match as SpamAssassin's do:
// their rules are skipped ("pseudo-header X"), so are the metas that need them.
bool Loader::pseudoField(HeaderSpec& header, std::string_view name, std::string& error) {
  header.field = std::string(name);
  if (name == "ALL") {
    header.source = HeaderSource::All;
  } else if (name == "MESSAGEID") {
    header.source = HeaderSource::MessageId;
  } else if (base::equalsIgnoreCase(name, "ToCc")) {
    header.source = HeaderSource::ToCc;
  } else if (isRelayPseudoField(name) || base::equalsIgnoreCase(name, "EnvelopeFrom")) {
    error = "skip:pseudo-header " + std::string(name);
    return false;
  }
  return true;
}

}  // namespace spamgate::rules::detail
