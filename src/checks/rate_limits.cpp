#include "checks/rate_limits.h"

namespace spamgate::checks {

namespace {

using pipeline::Stage;

// What a stage limits and how an excess is answered.
struct StageLimit {
  const char* symbol;
  std::string (*key)(std::string_view ip);
  policy::Action action;
  int code;
  const char* enhanced;
  const char* text;
  bool closes;
};

constexpr StageLimit kConnections{"RATE_CONNECTIONS",
                                  &store::rate_keys::connections,
                                  policy::Action::Disconnect,
                                  421,
                                  "4.7.0",
                                  "Too many connections from your address, try again later",
                                  true};
constexpr StageLimit kMessages{"RATE_MESSAGES",
                               &store::rate_keys::messages,
                               policy::Action::Tempfail,
                               450,
                               "4.7.1",
                               "Too many messages, slow down",
                               false};
constexpr StageLimit kRecipients{"RATE_RECIPIENTS",
                                 &store::rate_keys::recipients,
                                 policy::Action::Tempfail,
                                 450,
                                 "4.7.1",
                                 "Too many recipients, slow down",
                                 false};

const StageLimit& limitFor(Stage stage) {
  if (stage == Stage::Connect) return kConnections;
  return stage == Stage::Mail ? kMessages : kRecipients;
}

// Owns the store's take while it is in flight: destroying it cancels the take.
class PendingRate final : public pipeline::PendingCheck {
 public:
  explicit PendingRate(std::unique_ptr<store::PendingTake> take) : take_(std::move(take)) {}

 private:
  std::unique_ptr<store::PendingTake> take_;
};

std::string retryText(std::chrono::milliseconds retry_after) {
  if (retry_after == std::chrono::milliseconds::max()) return "never";
  return "after " + std::to_string(retry_after.count()) + " ms";
}

// What one store answer means for the stage; everything it needs is copied in.
struct Judge {
  const StageLimit* limit;
  unsigned per_minute;
  std::string ip;
  bool score_only;

  pipeline::CheckResult operator()(const store::RateDecision& decision) const {
    if (!decision.error.empty()) {
      return {{policy::Symbol{"RATE_STORE_ERROR", 0, decision.error}}, std::nullopt};
    }
    if (decision.allowed) return {};
    pipeline::CheckResult result;
    result.symbols.push_back(policy::Symbol{limit->symbol, 0,
                                            std::to_string(per_minute) + "/min from " + ip +
                                                ", retry " + retryText(decision.retry_after)});
    if (!score_only) {
      result.opinion = policy::Opinion{
          limit->action, smtp::makeReply(limit->code, limit->enhanced, limit->text, limit->closes),
          std::string("rate_limits: ") + limit->symbol};
    }
    return result;
  }
};

}  // namespace

unsigned RateLimits::perMinute(Stage stage) const {
  switch (stage) {
    case Stage::Connect:
      return settings_.connections_per_minute;
    case Stage::Mail:
      return settings_.messages_per_minute;
    case Stage::Rcpt:
      return settings_.recipients_per_minute;
    default:
      return 0;
  }
}

bool RateLimits::runsAt(Stage stage) const {
  return settings_.enabled && perMinute(stage) > 0;
}

std::unique_ptr<pipeline::PendingCheck> RateLimits::start(Stage stage,
                                                          const pipeline::Context& context,
                                                          pipeline::CheckDone done) {
  const unsigned per_minute = perMinute(stage);
  const bool exempt = context.facts != nullptr && context.facts->allowlisted;
  if (!settings_.enabled || per_minute == 0 || exempt) {
    done({});
    return nullptr;
  }
  const StageLimit& limit = limitFor(stage);
  if (context.rates == nullptr) {
    done(pipeline::CheckResult{{{"RATE_STORE_ERROR", 0, "no rate store"}}, std::nullopt});
    return nullptr;
  }
  const auto figure = static_cast<double>(per_minute);
  auto take = context.rates->take(
      limit.key(context.client_ip), store::Bucket{figure, figure}, 1,
      [judge = Judge{&limit, per_minute, context.client_ip, settings_.score_only},
       done = std::move(done)](store::RateDecision decision) { done(judge(decision)); });
  if (!take) return nullptr;
  return std::make_unique<PendingRate>(std::move(take));
}

}  // namespace spamgate::checks
