// Content rules in SpamAssassin's format, compiled once per load and scanned per message.
//
// Files: `header NAME Field =~ /re/flags` (also !~; Field may carry :raw, :addr, :name; the
// pseudo-fields ALL, ToCc and MESSAGEID; `exists:Field`; `[if-unset: STR]`), `body`, `rawbody`,
// `uri`, `full`, `meta NAME expr` (&&, ||, !, +, -, *, comparisons, parentheses, numbers, rule
// names), `score NAME n [n n n]`, `describe NAME text`, `tflags NAME multiple maxhits=N nice
// ...`, `include FILE` (relative to the including file), `#` comments, `if`/`ifplugin`/`else`/
// `endif`, `lang` lines (ignored). Rules named __* are sub-rules: evaluated, never scored.
// `eval:` rules, plugin rules and header rules on pseudo-fields whose data a message does not
// carry (EnvelopeFrom, X-Spam-Relays-*, ALL-TRUSTED and the other ALL-*: "pseudo-header X") are
// skipped and counted by reason in LoadReport::skipped; a meta that depends on a skipped rule
// is skipped too (LoadReport::notes says which).
//
// Names a meta can use besides rules: the symbols of spamgate's other checks (SPF_FAIL,
// DKIM_PASS, DNSBL_LISTED, ...), passed to scan() as `external` hits.
//
// Matching: PCRE2 with JIT, compiled once per load; every match runs with match and depth
// limits, so a pathological pattern costs a bounded amount of work: a rule that hits a limit
// does not match, and is counted in ScanResult::limit_hits (and named in limited_rules).
// A rule whose text cannot match is not run: the load reads from each pattern strings every
// match must contain (one pass over a text finds them all) and, for body, rawbody and full, a
// shorter pattern without its leading optional items (\b, (?:^|\W), x{0,3}...) that PCRE2
// runs quicker; a rule so skipped neither hits nor counts in limit_hits.
// A RuleSet is immutable once loaded: any thread may scan with it at the same time.
//
// Semantics chosen where SpamAssassin's cannot be copied exactly:
// - Each text is scanned once per rule. body and rawbody are matched as one string with
//   PCRE2_MULTILINE added, so ^ and $ work per line as in SpamAssassin's per-line runs; a class
//   such as \s can cross a line break where SpamAssassin's could not. uri rules run per URI.
// - Byte semantics, as SpamAssassin's default: no PCRE2_UTF, so \xNN is a byte.
// - A header rule sees every value of the field, each followed by "\n" (SpamAssassin keeps the
//   newline); a missing field is "" (or its [if-unset: STR]) for =~ and !~ alike.
// - A rule's value in a meta is its hit count (tflags multiple: up to maxhits=N, else at most
//   1000); a meta's value is 1 or 0. A hit scores score x count, as SpamAssassin adds
//   the score per hit.
// - Default score 1.0 (0.01 for T_ rules, as SpamAssassin); score 0 disables a rule: it is not
//   reported, and it runs only when a meta needs it. __ rules run only when a meta needs them.
// - Plugins: only ReplaceTags is behaved as loaded (replace_tag/pre/post/inter/rules rewrite
//   the listed rules' patterns at the end of the load, as SpamAssassin does); the blocks of any
//   other `ifplugin` are skipped (their rules counted as "plugin block"). `if` knows version
//   (4.000000), plugin(X), can(X) (true only for perl_min_version_*: PCRE2 has those regex
//   features) and &&, ||, !, comparisons.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mime/message.h"

namespace spamgate::rules {

struct Diagnostic {
  std::string file;
  unsigned line = 0;
  std::string message;
  std::string text() const;  // "file:line: message"
};

struct LoadOptions {
  uint32_t match_limit = 100000;  // PCRE2 match limit per match call
  uint32_t depth_limit = 10000;   // PCRE2 depth limit per match call
  bool jit = true;
  // Score set for four-value `score` lines: 0 no network tests, no Bayes; 1 network, no Bayes.
  unsigned score_set = 1;
  // Names other checks may emit (SPF_FAIL, ...): a meta may use them; any other unknown name
  // in a meta is an error.
  std::vector<std::string> external_names;
  // For third-party sets (SpamAssassin's): a regex PCRE2 refuses is a warning and its rule is
  // skipped ("bad regex"), instead of an error.
  bool skip_bad_regex = false;
};

struct LoadReport {
  std::vector<Diagnostic> errors;    // the rule set is not fit to serve
  std::vector<Diagnostic> warnings;  // e.g. a score for a rule defined nowhere
  std::vector<Diagnostic> notes;     // e.g. "meta X skipped: needs Y (eval)"
  // Skipped rule definitions by reason ("eval", "meta needs eval", "unsupported type", ...).
  std::map<std::string, std::size_t> skipped;
  std::map<std::string, std::size_t> loaded;  // by kind: "header", "body", ... , "meta"
  std::map<std::string, std::size_t> failed;  // regex rules PCRE2 refused, by kind
  std::size_t files = 0;
};

class RuleSet;

// Reads every file (a directory: its *.cf files in name order) and compiles what it can. Never
// throws; problems are in `report`. Returns the compiled set even with errors (lint shows them
// all); a caller that serves refuses a set whose report has errors.
std::shared_ptr<const RuleSet> loadRules(const std::vector<std::string>& paths,
                                         const LoadOptions& options, LoadReport& report);
// The same for one file's text (`origin` names it in diagnostics; includes are relative to its
// directory). For tests and fuzzing.
std::shared_ptr<const RuleSet> loadRulesText(std::string_view text, const std::string& origin,
                                             const LoadOptions& options, LoadReport& report);

struct Hit {
  std::string name;
  double score = 0;
  std::string description;
  unsigned count = 1;  // matches counted (tflags multiple), 1 otherwise
};

struct ScanResult {
  std::vector<Hit> hits;  // scored rules that hit (no __ sub-rules), in rule order
  double score = 0;       // sum of the hits' scores
  std::size_t limit_hits = 0;
  std::vector<std::string> limited_rules;
};

// Scans one message. `external`: names of other checks' symbols, visible to metas.
ScanResult scan(const RuleSet& rules, const mime::Message& message, std::string_view full,
                const std::vector<std::string>& external);

std::size_t ruleCount(const RuleSet& rules);

}  // namespace spamgate::rules
