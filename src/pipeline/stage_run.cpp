#include "pipeline/stage_run.h"

#include <event2/event.h>

namespace spamgate::pipeline {

namespace {

using Clock = std::chrono::steady_clock;

class Run final : public StageRun {
 public:
  Run(event_base* base, Done done)
      : done_(std::move(done)), timer_(evtimer_new(base, &Run::onDeadline, this)) {}
  ~Run() override { event_free(timer_); }

  // Starts every check; returns false if all of them answered inline (done_ already ran).
  bool begin(const Checks& checks, Stage stage, const Context& context,
             std::chrono::milliseconds deadline) {
    for (const auto& check : checks) {
      if (!check->runsAt(stage)) continue;
      slots_.push_back(Slot{check, {}, Clock::now(), false});
    }
    outcome_.records.resize(slots_.size());
    alive_ = std::make_shared<bool>(true);
    for (std::size_t i = 0; i < slots_.size() && !finished_; ++i) {
      std::weak_ptr<bool> alive = alive_;
      slots_[i].handle = slots_[i].check->start(stage, context, [this, i, alive](CheckResult r) {
        if (!alive.expired()) onResult(i, std::move(r));
      });
    }
    if (remaining() == 0) {
      finish();
      return false;
    }
    const auto tv = timeval{static_cast<time_t>(deadline.count() / 1000),
                            static_cast<suseconds_t>((deadline.count() % 1000) * 1000)};
    evtimer_add(timer_, &tv);
    return true;
  }

 private:
  struct Slot {
    std::shared_ptr<Check> check;
    std::unique_ptr<PendingCheck> handle;
    Clock::time_point started;
    bool answered;
  };

  std::size_t remaining() const {
    std::size_t n = 0;
    for (const auto& slot : slots_)
      n += slot.answered ? 0 : 1;
    return n;
  }

  void onResult(std::size_t i, CheckResult result) {
    auto& slot = slots_[i];
    if (slot.answered || finished_) return;
    slot.answered = true;
    outcome_.records[i] = CheckRecord{
        std::string(slot.check->name()), std::move(result),
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - slot.started), false};
    if (remaining() == 0 && begun()) finish();
  }

  bool begun() const { return evtimer_pending(timer_, nullptr) != 0; }

  static void onDeadline(evutil_socket_t, short, void* self) {
    auto* run = static_cast<Run*>(self);
    for (std::size_t i = 0; i < run->slots_.size(); ++i) {
      auto& slot = run->slots_[i];
      if (slot.answered) continue;
      slot.handle.reset();
      slot.answered = true;
      const std::string name(slot.check->name());
      policy::Opinion opinion{policy::Action::Tempfail,
                              smtp::makeReply(451, "4.4.3", "Temporary failure, try again later"),
                              name + ": CHECK_TIMEOUT"};
      run->outcome_.records[i] = CheckRecord{
          name, CheckResult{{policy::Symbol{"CHECK_TIMEOUT", 0, name}}, opinion},
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - slot.started), true};
    }
    run->finish();
  }

  void finish() {
    finished_ = true;
    evtimer_del(timer_);
    alive_.reset();
    auto done = std::move(done_);
    done(std::move(outcome_));  // may destroy this
  }

  Done done_;
  event* timer_;
  std::vector<Slot> slots_;
  StageOutcome outcome_;
  std::shared_ptr<bool> alive_;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<StageRun> StageRun::start(event_base* base, const Checks& checks, Stage stage,
                                          const Context& context,
                                          std::chrono::milliseconds deadline, Done done) {
  auto run = std::make_unique<Run>(base, std::move(done));
  if (!run->begin(checks, stage, context, deadline)) return nullptr;
  return run;
}

}  // namespace spamgate::pipeline
