#include "checks/dkim.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/dkim.h"

namespace spamgate::checks {

namespace {

constexpr std::size_t kMaxDetail = 512;

struct Kind {
  const char* symbol;
  double config::Dkim::*score;
};

// Index into kKinds of a result.
constexpr Kind kKinds[] = {{"DKIM_PASS", &config::Dkim::pass_score},
                           {"DKIM_FAIL", &config::Dkim::fail_score},
                           {"DKIM_TEMPERROR", &config::Dkim::temperror_score},
                           {"DKIM_PERMERROR", &config::Dkim::permerror_score}};

std::size_t kindOf(auth::DkimResult result) {
  switch (result) {
    case auth::DkimResult::Pass:
      return 0;
    case auth::DkimResult::TempError:
      return 2;
    case auth::DkimResult::PermError:
      return 3;
    default:  // fail, policy, neutral: a signature that does not pass
      return 1;
  }
}

pipeline::CheckResult symbols(const config::Dkim& settings,
                              const std::vector<auth::DkimSignatureOutcome>& outcomes) {
  pipeline::CheckResult result;
  if (outcomes.empty()) {
    result.symbols.push_back(policy::Symbol{"DKIM_NONE", 0, "no signature"});
    return result;
  }
  std::string details[std::size(kKinds)];
  for (const auto& outcome : outcomes) {
    std::string& detail = details[kindOf(outcome.result)];
    if (!detail.empty()) detail += "; ";
    detail += "d=" + outcome.domain + " s=" + outcome.selector;
    if (!outcome.detail.empty()) detail += ": " + outcome.detail;
  }
  for (std::size_t i = 0; i < std::size(kKinds); ++i) {
    if (details[i].empty()) continue;
    if (details[i].size() > kMaxDetail) details[i].resize(kMaxDetail);
    result.symbols.push_back(
        policy::Symbol{kKinds[i].symbol, settings.*kKinds[i].score, std::move(details[i])});
  }
  return result;
}

pipeline::CheckResult tempfail(const config::Dkim& settings, std::string detail) {
  pipeline::CheckResult result;
  result.symbols.push_back(
      policy::Symbol{"DKIM_TEMPERROR", settings.temperror_score, std::move(detail)});
  return result;
}

// One verification in progress; owns its DnsSource, which must outlive the lookups.
class DkimRun final : public pipeline::PendingCheck {
 public:
  DkimRun(const config::Dkim& settings, pipeline::SessionFacts* facts,
          std::unique_ptr<auth::DnsSource> dns, pipeline::CheckDone done)
      : settings_(settings), facts_(facts), dns_(std::move(dns)), done_(std::move(done)) {}

  // False when `done` already ran (nothing to look up).
  // verifyDkim() copies the message only when it has a signature to verify.
  bool begin(const pipeline::Offload& offload, std::string_view message) {
    auth::DkimOptions options;
    options.min_key_bits = settings_.min_key_bits;
    options.max_signatures = settings_.max_signatures;
    pending_ = auth::verifyDkim(
        *dns_, offload, message, options,
        [this](std::vector<auth::DkimSignatureOutcome> outcomes) { finish(std::move(outcomes)); });
    return pending_ != nullptr;
  }

 private:
  // `done` may destroy this object: nothing touches a member after it.
  void finish(std::vector<auth::DkimSignatureOutcome> outcomes) {
    pipeline::CheckResult result = symbols(settings_, outcomes);
    facts_->auth.dkim = std::move(outcomes);
    facts_->auth.dkim_checked = true;
    pipeline::CheckDone done = std::move(done_);
    done(std::move(result));
  }

  config::Dkim settings_;
  pipeline::SessionFacts* facts_;
  std::unique_ptr<auth::DnsSource> dns_;
  pipeline::CheckDone done_;
  std::unique_ptr<auth::PendingQuery> pending_;  // declared last: cancelled before dns_ goes
};

}  // namespace

DkimCheck::DkimCheck(config::Dkim settings, AuthDnsFactory dns)
    : settings_(settings), dns_(std::move(dns)) {}

std::unique_ptr<pipeline::PendingCheck> DkimCheck::start(pipeline::Stage,
                                                         const pipeline::Context& context,
                                                         pipeline::CheckDone done) {
  if (context.facts == nullptr || context.message == nullptr) {
    done({});
    return nullptr;
  }
  if (!context.offload) {
    done(tempfail(settings_, "no worker pool"));
    return nullptr;
  }
  std::unique_ptr<auth::DnsSource> dns = authDns(dns_, context);
  if (!dns) {
    done(tempfail(settings_, "no resolver"));
    return nullptr;
  }
  auto run = std::make_unique<DkimRun>(settings_, context.facts, std::move(dns), std::move(done));
  if (!run->begin(context.offload, *context.message)) return nullptr;
  return run;
}

}  // namespace spamgate::checks
