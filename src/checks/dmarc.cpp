#include "checks/dmarc.h"

#include <string>
#include <utility>

#include "auth/dmarc.h"
#include "auth/from_header.h"

namespace spamgate::checks {

namespace {

constexpr std::size_t kMaxDetail = 512;

pipeline::CheckResult symbolResult(std::string name, double score, std::string detail) {
  if (detail.size() > kMaxDetail) detail.resize(kMaxDetail);
  pipeline::CheckResult result;
  result.symbols.push_back(policy::Symbol{std::move(name), score, std::move(detail)});
  return result;
}

// From trouble that stops the check before any lookup; nullopt when there is a domain.
std::optional<pipeline::CheckResult> fromTrouble(const config::Dmarc& settings,
                                                 const auth::FromDomain& from) {
  switch (from.status) {
    case auth::FromStatus::Missing:
      return symbolResult("FROM_MISSING", settings.missing_from_score, "no From field");
    case auth::FromStatus::MultipleFields:
      return symbolResult("FROM_MULTIPLE", settings.multiple_from_score,
                          std::to_string(from.fields) + " From fields");
    case auth::FromStatus::Unparseable:
      return symbolResult("FROM_INVALID", settings.missing_from_score,
                          "From field without a usable address");
    case auth::FromStatus::MultipleMailboxes:
      if (from.domain.empty()) {
        return symbolResult("FROM_MULTIPLE", settings.multiple_from_score,
                            "one From field with mailboxes in several domains");
      }
      return std::nullopt;
    case auth::FromStatus::Ok:
      return std::nullopt;
  }
  return std::nullopt;
}

// RFC 7489 6.6.4: a failure left out by pct gets the next less strict policy.
auth::DmarcPolicy appliedPolicy(const auth::DmarcOutcome& outcome) {
  if (!outcome.sampled_out) return outcome.policy;
  return outcome.policy == auth::DmarcPolicy::Reject ? auth::DmarcPolicy::Quarantine
                                                     : auth::DmarcPolicy::None;
}

pipeline::CheckResult failure(const config::Dmarc& settings, const auth::DmarcOutcome& outcome,
                              std::string detail, bool allowlisted) {
  pipeline::CheckResult result;
  switch (appliedPolicy(outcome)) {
    case auth::DmarcPolicy::Reject: {
      const bool reject = settings.reject_action == config::FailAction::Reject;
      result =
          symbolResult("DMARC_FAIL_REJECT", reject ? 0 : settings.reject_score, std::move(detail));
      if (reject && !allowlisted) {
        result.opinion = policy::Opinion{
            policy::Action::Reject,
            smtp::makeReply(550, "5.7.1", "Rejected by DMARC policy for " + outcome.from_domain),
            "dmarc: DMARC_FAIL_REJECT", false};
      }
      return result;
    }
    case auth::DmarcPolicy::Quarantine:
      result = symbolResult("DMARC_FAIL_QUARANTINE", settings.quarantine_score, std::move(detail));
      if (!allowlisted) {
        result.opinion =
            policy::Opinion{policy::Action::Tag, {}, "dmarc: DMARC_FAIL_QUARANTINE", false};
      }
      return result;
    case auth::DmarcPolicy::None:
      return symbolResult("DMARC_FAIL_NONE", settings.none_fail_score, std::move(detail));
  }
  return result;
}

pipeline::CheckResult outcomeResult(const config::Dmarc& settings,
                                    const auth::DmarcOutcome& outcome, bool allowlisted) {
  std::string detail = "from=" + outcome.from_domain + "; " + outcome.detail;
  switch (outcome.result) {
    case auth::DmarcResult::Pass:
      return symbolResult("DMARC_PASS", 0, std::move(detail));
    case auth::DmarcResult::Fail:
      return failure(settings, outcome, std::move(detail), allowlisted);
    case auth::DmarcResult::None:
      return symbolResult("DMARC_NONE", 0, std::move(detail));
    case auth::DmarcResult::TempError: {
      auto result = symbolResult("DMARC_TEMPERROR", 0, std::move(detail));
      if (settings.tempfail_on_error && !allowlisted) {
        result.opinion = policy::Opinion{
            policy::Action::Tempfail,
            smtp::makeReply(451, "4.4.3", "DMARC policy lookup failed, try again later"),
            "dmarc: DMARC_TEMPERROR", false};
      }
      return result;
    }
    case auth::DmarcResult::PermError:
      return symbolResult("DMARC_PERMERROR", 0, std::move(detail));
  }
  return {};
}

class DmarcRun final : public pipeline::PendingCheck {
 public:
  DmarcRun(const config::Dmarc& settings, std::unique_ptr<auth::DnsSource> dns,
           pipeline::SessionFacts* facts, pipeline::CheckDone done)
      : settings_(settings), dns_(std::move(dns)), facts_(facts), done_(std::move(done)) {}

  void begin(auth::DmarcInput input) {
    evaluation_ = auth::evaluateDmarc(*dns_, std::move(input), [this](auth::DmarcOutcome outcome) {
      onOutcome(std::move(outcome));
    });
  }

 private:
  // `done` may destroy this object: nothing touches a member after it.
  void onOutcome(auth::DmarcOutcome outcome) {
    evaluation_.reset();
    pipeline::CheckResult result = outcomeResult(settings_, outcome, facts_->allowlisted);
    facts_->auth.dmarc = std::move(outcome);
    pipeline::CheckDone done = std::move(done_);
    done(std::move(result));
  }

  config::Dmarc settings_;
  std::unique_ptr<auth::DnsSource> dns_;
  pipeline::SessionFacts* facts_;
  pipeline::CheckDone done_;
  std::unique_ptr<auth::PendingQuery> evaluation_;  // destroyed before the source it uses
};

}  // namespace

std::unique_ptr<pipeline::PendingCheck> DmarcCheck::start(pipeline::Stage,
                                                          const pipeline::Context& context,
                                                          pipeline::CheckDone done) {
  if (context.message == nullptr || context.facts == nullptr) {
    done({});
    return nullptr;
  }
  context.facts->auth.dmarc.reset();
  const auth::FromDomain from = auth::fromDomain(*context.message);
  if (std::optional<pipeline::CheckResult> trouble = fromTrouble(settings_, from)) {
    done(std::move(*trouble));
    return nullptr;
  }
  std::unique_ptr<auth::DnsSource> dns = authDns(services_.dns, context);
  if (!dns) {
    auth::DmarcOutcome outcome;
    outcome.result = auth::DmarcResult::TempError;
    outcome.from_domain = from.domain;
    outcome.detail = "no resolver";
    pipeline::CheckResult result = outcomeResult(settings_, outcome, context.facts->allowlisted);
    context.facts->auth.dmarc = std::move(outcome);
    done(std::move(result));
    return nullptr;
  }
  auth::DmarcInput input{from.domain, context.facts->auth.spf, context.facts->auth.dkim,
                         services_.roll};
  auto run = std::make_unique<DmarcRun>(settings_, std::move(dns), context.facts, std::move(done));
  run->begin(std::move(input));
  return run;
}

}  // namespace spamgate::checks
