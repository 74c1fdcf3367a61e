#include "checks/pregreet.h"

#include <event2/event.h>

#include <cstdio>
#include <cstdlib>

namespace spamgate::checks {

namespace {

bool exempt(const pipeline::SessionFacts* facts) {
  return facts != nullptr && facts->allowlisted;
}

timeval toTimeval(std::chrono::milliseconds wait) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(wait.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((wait.count() % 1000) * 1000);
  return tv;
}

// Waits on the worker's loop, then judges the facts as they are. The timer is freed with the
// handle, so `done` cannot run after the handle is gone.
class PendingPregreet final : public pipeline::PendingCheck {
 public:
  PendingPregreet(event_base* loop, const config::Pregreet& settings,
                  const pipeline::SessionFacts* facts, pipeline::CheckDone done)
      : settings_(settings), facts_(facts), done_(std::move(done)) {
    timer_ = evtimer_new(loop, &PendingPregreet::onTimer, this);
    if (timer_ == nullptr) std::abort();  // out of memory: the check could never complete
    const timeval tv = toTimeval(settings.wait);
    evtimer_add(timer_, &tv);
  }
  ~PendingPregreet() override { event_free(timer_); }
  PendingPregreet(const PendingPregreet&) = delete;
  PendingPregreet& operator=(const PendingPregreet&) = delete;

 private:
  static void onTimer(evutil_socket_t, short, void* arg) {
    auto* self = static_cast<PendingPregreet*>(arg);
    // `done` may destroy this handle: touch nothing of it afterwards.
    auto done = std::move(self->done_);
    done(judgePregreet(self->settings_, self->facts_));
  }

  config::Pregreet settings_;
  const pipeline::SessionFacts* facts_;  // session-owned: outlives this handle
  pipeline::CheckDone done_;
  event* timer_ = nullptr;
};

}  // namespace

pipeline::CheckResult judgePregreet(const config::Pregreet& settings,
                                    const pipeline::SessionFacts* facts) {
  if (facts == nullptr || !facts->pregreet || exempt(facts)) return {};
  pipeline::CheckResult result;
  result.symbols.push_back(
      policy::Symbol{"PREGREET", settings.score, "client spoke before the greeting"});
  if (settings.enforce) {
    result.opinion =
        policy::Opinion{policy::Action::Reject,
                        smtp::makeReply(554, "5.5.1", "Protocol error: talked before the greeting"),
                        "pregreet: PREGREET", false};
  }
  return result;
}

std::unique_ptr<pipeline::PendingCheck> Pregreet::start(pipeline::Stage,
                                                        const pipeline::Context& context,
                                                        pipeline::CheckDone done) {
  if (settings_.wait.count() <= 0 || exempt(context.facts)) {
    done(judgePregreet(settings_, context.facts));
    return nullptr;
  }
  if (context.loop == nullptr) {
    // A broken invariant, not external input: the session always provides its loop.
    std::fputs("pregreet: Context::loop is null with wait > 0\n", stderr);
    std::abort();
  }
  return std::make_unique<PendingPregreet>(context.loop, settings_, context.facts, std::move(done));
}

}  // namespace spamgate::checks
