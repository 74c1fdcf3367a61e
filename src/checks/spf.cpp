#include "checks/spf.h"

#include <string>
#include <utility>

#include "auth/spf.h"

namespace spamgate::checks {

namespace {

using auth::SpfOutcome;
using auth::SpfResult;

struct SymbolInfo {
  const char* name;
  double config::Spf::*score;
};

SymbolInfo symbolOf(SpfResult result) {
  switch (result) {
    case SpfResult::Pass:
      return {"SPF_PASS", &config::Spf::pass_score};
    case SpfResult::Fail:
      return {"SPF_FAIL", &config::Spf::fail_score};
    case SpfResult::SoftFail:
      return {"SPF_SOFTFAIL", &config::Spf::softfail_score};
    case SpfResult::Neutral:
      return {"SPF_NEUTRAL", &config::Spf::neutral_score};
    case SpfResult::None:
      return {"SPF_NONE", &config::Spf::none_score};
    case SpfResult::TempError:
      return {"SPF_TEMPERROR", &config::Spf::temperror_score};
    case SpfResult::PermError:
      break;
  }
  return {"SPF_PERMERROR", &config::Spf::permerror_score};
}

policy::Opinion refusal(policy::Action action, smtp::Reply reply, SpfResult result) {
  policy::Opinion opinion;
  opinion.action = action;
  opinion.reply = std::move(reply);
  opinion.reason = std::string("spf: ") + symbolOf(result).name;
  return opinion;
}

// The opinion an outcome calls for under `settings`, if any.
std::optional<policy::Opinion> opinionOf(const config::Spf& settings, const SpfOutcome& outcome) {
  const std::string& domain = outcome.domain;
  switch (outcome.result) {
    case SpfResult::Fail:
      if (settings.fail_action != config::FailAction::Reject) break;
      return refusal(policy::Action::Reject,
                     smtp::makeReply(550, "5.7.23", "SPF check failed for " + domain),
                     outcome.result);
    case SpfResult::PermError:
      if (settings.permerror_action != config::FailAction::Reject) break;
      return refusal(policy::Action::Reject,
                     smtp::makeReply(550, "5.7.24", "SPF record of " + domain + " is invalid"),
                     outcome.result);
    case SpfResult::TempError:
      if (!settings.tempfail_on_error) break;
      return refusal(
          policy::Action::Tempfail,
          smtp::makeReply(451, "4.4.3", "SPF check of " + domain + " unavailable, try later"),
          outcome.result);
    default:
      break;
  }
  return std::nullopt;
}

bool allowlisted(const pipeline::Context& context) {
  return context.facts != nullptr && context.facts->allowlisted;
}

// The MAIL stage's result: the facts, the symbol, and the opinion when it is given at MAIL.
pipeline::CheckResult report(const config::Spf& settings, pipeline::SessionFacts* facts,
                             bool give_opinion, SpfOutcome outcome) {
  pipeline::CheckResult result;
  const SymbolInfo symbol = symbolOf(outcome.result);
  result.symbols.push_back(policy::Symbol{symbol.name, settings.*symbol.score, outcome.detail});
  if (give_opinion) result.opinion = opinionOf(settings, outcome);
  if (facts != nullptr) facts->auth.spf = std::move(outcome);
  return result;
}

class SpfRun final : public pipeline::PendingCheck {
 public:
  SpfRun(std::unique_ptr<auth::DnsSource> source, pipeline::CheckDone done)
      : source_(std::move(source)), done_(std::move(done)) {}

  void begin(auth::SpfRequest request, std::function<pipeline::CheckResult(SpfOutcome)> judge) {
    evaluation_ = auth::evaluateSpf(*source_, std::move(request),
                                    [this, judge = std::move(judge)](SpfOutcome outcome) {
                                      auto done = std::move(done_);
                                      done(judge(std::move(outcome)));  // may destroy this
                                    });
  }

 private:
  std::unique_ptr<auth::DnsSource> source_;  // outlives evaluation_ (declared first)
  pipeline::CheckDone done_;
  std::unique_ptr<auth::PendingQuery> evaluation_;
};

}  // namespace

bool SpfCheck::runsAt(pipeline::Stage stage) const {
  return stage == pipeline::Stage::Mail ||
         (stage == pipeline::Stage::Rcpt && settings_.reject_at == config::SpfRejectAt::Rcpt);
}

std::unique_ptr<pipeline::PendingCheck> SpfCheck::start(pipeline::Stage stage,
                                                        const pipeline::Context& context,
                                                        pipeline::CheckDone done) {
  if (stage == pipeline::Stage::Mail) return startMail(context, std::move(done));
  pipeline::CheckResult result;
  if (stage == pipeline::Stage::Rcpt && context.facts != nullptr && context.facts->auth.spf &&
      !allowlisted(context)) {
    result.opinion = opinionOf(settings_, *context.facts->auth.spf);
  }
  done(std::move(result));
  return nullptr;
}

std::unique_ptr<pipeline::PendingCheck> SpfCheck::startMail(const pipeline::Context& context,
                                                            pipeline::CheckDone done) {
  const bool give_opinion =
      settings_.reject_at == config::SpfRejectAt::Mail && !allowlisted(context);
  if (context.mail == nullptr) {  // nothing to check
    done({});
    return nullptr;
  }
  std::unique_ptr<auth::DnsSource> source = authDns(sources_, context);
  if (source == nullptr) {
    SpfOutcome outcome;
    outcome.result = SpfResult::TempError;
    const std::string& from = context.mail->reverse_path;
    outcome.helo_identity = from.empty();
    outcome.domain = from.empty() ? context.helo : from.substr(from.rfind('@') + 1);
    outcome.detail = "no resolver";
    done(report(settings_, context.facts, give_opinion, std::move(outcome)));
    return nullptr;
  }
  auto run = std::make_unique<SpfRun>(std::move(source), std::move(done));
  run->begin(auth::SpfRequest{context.client_ip, context.helo, context.mail->reverse_path,
                              context.hostname},
             [settings = settings_, facts = context.facts, give_opinion](SpfOutcome outcome) {
               return report(settings, facts, give_opinion, std::move(outcome));
             });
  return run;
}

}  // namespace spamgate::checks
