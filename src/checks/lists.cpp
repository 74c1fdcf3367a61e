#include "checks/lists.h"

#include <utility>

namespace spamgate::checks {

namespace {

std::string describe(const CidrSet::Match& match) {
  return match.network + " (" + match.source + ")";
}

}  // namespace

Lists::Lists(const config::Lists& settings)
    : settings_(settings),
      allow_(CidrSet::fromFiles(settings.allow)),
      deny_(CidrSet::fromFiles(settings.deny)) {}

std::unique_ptr<pipeline::PendingCheck> Lists::start(pipeline::Stage,
                                                     const pipeline::Context& context,
                                                     pipeline::CheckDone done) {
  const auto address =
      parseIpAddress(std::string_view(context.client_ip).substr(0, context.client_ip.find('%')));
  if (!address) {
    done({});
    return nullptr;
  }
  if (auto match = allow_.find(*address)) {
    if (context.facts != nullptr) context.facts->allowlisted = true;
    done(pipeline::CheckResult{{policy::Symbol{"LIST_ALLOW", 0, describe(*match)}}, {}});
  } else if (auto deny = deny_.find(*address)) {
    done(denied(*deny));
  } else {
    done({});
  }
  return nullptr;
}

pipeline::CheckResult Lists::denied(const CidrSet::Match& match) const {
  pipeline::CheckResult result;
  result.symbols.push_back(policy::Symbol{"LIST_DENY", settings_.deny_score, describe(match)});
  if (!settings_.score_only) {
    result.opinion = policy::Opinion{
        policy::Action::Reject, smtp::makeReply(554, "5.7.1", "Access denied"),
        "lists: LIST_DENY " + describe(match), settings_.reject_at == config::RejectAt::Rcpt};
  }
  return result;
}

}  // namespace spamgate::checks
