#include "checks/rules.h"

#include <atomic>

#include "mime/message.h"

namespace spamgate::checks {

namespace {

pipeline::CheckResult unavailable(const std::string& why) {
  pipeline::CheckResult result;
  result.symbols.push_back(policy::Symbol{"RULES_TEMPFAIL", 0, why});
  result.opinion =
      policy::Opinion{policy::Action::Tempfail,
                      smtp::makeReply(451, "4.3.0", "Content scan unavailable, try again later"),
                      "rules: RULES_TEMPFAIL", false};
  return result;
}

// What the worker thread and the loop share: the input, the result, and whether anyone still
// wants it.
struct Job {
  std::shared_ptr<const rules::RuleSet> rules;
  std::string message;
  std::vector<std::string> external;
  rules::ScanResult result;
  std::atomic<bool> cancelled{false};
};

class RulesRun final : public pipeline::PendingCheck {
 public:
  explicit RulesRun(std::shared_ptr<Job> job) : job_(std::move(job)) {}
  ~RulesRun() override { job_->cancelled = true; }
  RulesRun(const RulesRun&) = delete;
  RulesRun& operator=(const RulesRun&) = delete;

 private:
  std::shared_ptr<Job> job_;
};

}  // namespace

rules::LoadOptions rulesOptions(const config::Rules& settings) {
  rules::LoadOptions options;
  options.match_limit = settings.match_limit;
  options.depth_limit = settings.depth_limit;
  options.skip_bad_regex = settings.skip_bad_regex;
  options.external_names = {"CHECK_TIMEOUT",
                            "CONN_LIMIT_IP",
                            "CONN_LIMIT_TOTAL",
                            "LIST_ALLOW",
                            "LIST_DENY",
                            "RATE_CONNECTIONS",
                            "RATE_MESSAGES",
                            "RATE_RECIPIENTS",
                            "RATE_STORE_ERROR",
                            "PREGREET",
                            "DNSBL_LISTED",
                            "DNSWL_LISTED",
                            "DNSBL_TEMPFAIL",
                            "DNSBL_ZONE_ERROR",
                            "RDNS_NONE",
                            "RDNS_MISMATCH",
                            "RDNS_TEMPFAIL",
                            "HELO_INVALID",
                            "HELO_BARE_IP",
                            "HELO_IP_MISMATCH",
                            "HELO_CLAIMS_US",
                            "HELO_NOT_FQDN",
                            "SPF_PASS",
                            "SPF_FAIL",
                            "SPF_SOFTFAIL",
                            "SPF_NEUTRAL",
                            "SPF_NONE",
                            "SPF_TEMPERROR",
                            "SPF_PERMERROR",
                            "DKIM_PASS",
                            "DKIM_FAIL",
                            "DKIM_NONE",
                            "DKIM_TEMPERROR",
                            "DKIM_PERMERROR",
                            "DMARC_PASS",
                            "DMARC_FAIL_REJECT",
                            "DMARC_FAIL_QUARANTINE",
                            "DMARC_FAIL_NONE",
                            "DMARC_NONE",
                            "DMARC_TEMPERROR",
                            "DMARC_PERMERROR",
                            "FROM_MISSING",
                            "FROM_MULTIPLE",
                            "FROM_INVALID"};
  return options;
}

std::vector<policy::Symbol> ruleSymbols(const rules::ScanResult& result) {
  std::vector<policy::Symbol> symbols;
  for (const auto& hit : result.hits) {
    std::string detail = hit.description;
    if (hit.count > 1) detail += " (x" + std::to_string(hit.count) + ")";
    symbols.push_back(policy::Symbol{hit.name, hit.score, std::move(detail)});
  }
  if (result.limit_hits > 0) {
    std::string names;
    for (const auto& name : result.limited_rules)
      names += (names.empty() ? "" : " ") + name;
    symbols.push_back(policy::Symbol{"RULES_LIMIT", 0, "match limit reached: " + names});
  }
  return symbols;
}

std::unique_ptr<pipeline::PendingCheck> RulesCheck::start(pipeline::Stage,
                                                          const pipeline::Context& context,
                                                          pipeline::CheckDone done) {
  if (context.message == nullptr) {
    done({});
    return nullptr;
  }
  if (!context.offload) {
    done(unavailable("no worker pool"));
    return nullptr;
  }
  auto job = std::make_shared<Job>();
  job->rules = rules_;
  job->message = *context.message;
  job->external = context.prior_symbols;
  auto run = std::make_unique<RulesRun>(job);
  const bool queued = context.offload(
      [job] {
        if (job->cancelled) return;
        const mime::Message parsed = mime::parseMessage(job->message);
        job->result = rules::scan(*job->rules, parsed, job->message, job->external);
      },
      [job, done] {
        if (job->cancelled) return;
        done(pipeline::CheckResult{ruleSymbols(job->result), std::nullopt});
      });
  if (!queued) {
    done(unavailable("worker queue full"));
    return nullptr;
  }
  return run;
}

}  // namespace spamgate::checks
