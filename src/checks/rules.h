// Content rules at end of data: the message parsed (src/mime) and scored by the rules files
// (src/rules). Order 2: it starts after the authentication checks, so metas see SPF_*, DKIM_*
// and DMARC_* with the other checks' symbols (Context::prior_symbols). Parsing and matching are
// CPU work: they run off the loop (Context::offload), on a copy of the message.
//
// Results: one symbol per rule hit (name, score, description; "(xN)" for N counted matches);
// RULES_LIMIT (score 0) names the rules that hit PCRE2's match or depth limit. No opinion: the
// total score decides (tag_score, tempfail_score, reject_score). A context without an offload,
// or a full queue, gives RULES_TEMPFAIL with a 451 4.3.0 opinion: never unscored mail passed as
// clean.
//
// Contract as pipeline::Check: `done` runs once, later, on the loop; destroying the handle
// cancels (the job is skipped if it has not started, its result dropped otherwise).
#pragma once

#include <memory>

#include "config/config.h"
#include "pipeline/check.h"
#include "rules/rules.h"

namespace spamgate::checks {

class RulesCheck final : public pipeline::Check {
 public:
  explicit RulesCheck(std::shared_ptr<const rules::RuleSet> rules) : rules_(std::move(rules)) {}

  std::string_view name() const override { return "rules"; }
  bool runsAt(pipeline::Stage stage) const override { return stage == pipeline::Stage::EndOfData; }
  int order() const override { return 2; }
  std::unique_ptr<pipeline::PendingCheck> start(pipeline::Stage stage,
                                                const pipeline::Context& context,
                                                pipeline::CheckDone done) override;

 private:
  std::shared_ptr<const rules::RuleSet> rules_;
};

// The symbols of a scan (shared with `spamgate scan`).
std::vector<policy::Symbol> ruleSymbols(const rules::ScanResult& result);

// How the config's rules are compiled: its PCRE2 limits, and every symbol name spamgate's
// other checks can record, so that metas may name them (an unknown name is a lint error).
rules::LoadOptions rulesOptions(const config::Rules& settings);

}  // namespace spamgate::checks
