#include "pipeline/stage_run.h"

#include <event2/event.h>

#include <algorithm>

namespace spamgate::pipeline {

namespace {

using Clock = std::chrono::steady_clock;

class Run final : public StageRun {
 public:
  Run(event_base* base, Done done)
      : done_(std::move(done)), timer_(evtimer_new(base, &Run::onDeadline, this)) {}
  ~Run() override { event_free(timer_); }

  // Starts the checks of the lowest order; returns false if all checks answered inline (done_
  // already ran).
  bool begin(const Checks& checks, Stage stage, const Context& context,
             std::chrono::milliseconds deadline) {
    for (const auto& check : checks) {
      if (check->runsAt(stage)) slots_.push_back(Slot{check, {}, {}, false, false, false});
    }
    std::stable_sort(slots_.begin(), slots_.end(), [](const Slot& a, const Slot& b) {
      return a.check->order() < b.check->order();
    });
    outcome_.records.resize(slots_.size());
    alive_ = std::make_shared<bool>(true);
    stage_ = stage;
    context_ = context;
    startNextOrder();
    if (finished_) return false;
    const auto tv = timeval{static_cast<time_t>(deadline.count() / 1000),
                            static_cast<suseconds_t>((deadline.count() % 1000) * 1000)};
    evtimer_add(timer_, &tv);
    begun_ = true;
    return true;
  }

 private:
  struct Slot {
    std::shared_ptr<Check> check;
    std::unique_ptr<PendingCheck> handle;
    Clock::time_point started;
    bool started_yet;
    bool answered;
    bool shared = false;  // its symbols are in context_.prior_symbols
  };

  // Starts the checks of the next order, and the order after that while every check started
  // answered inline; finishes once all have answered (which may destroy this: return at once).
  void startNextOrder() {
    while (!startedPending()) {
      if (remaining() == 0) return finish();
      const int order = nextOrder();
      addAnsweredSymbols();
      starting_ = true;
      for (std::size_t i = 0; i < slots_.size(); ++i) {
        auto& slot = slots_[i];
        if (slot.started_yet || slot.check->order() != order) continue;
        slot.started_yet = true;
        slot.started = Clock::now();
        std::weak_ptr<bool> alive = alive_;
        slot.handle = slot.check->start(stage_, context_, [this, i, alive](CheckResult r) {
          if (!alive.expired()) onResult(i, std::move(r));
        });
      }
      starting_ = false;
    }
  }

  // The later orders see what the earlier ones found.
  void addAnsweredSymbols() {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (!slots_[i].answered || slots_[i].shared) continue;
      slots_[i].shared = true;
      for (const auto& symbol : outcome_.records[i].result.symbols) {
        context_.prior_symbols.push_back(symbol.name);
        context_.prior_score += symbol.score;
      }
    }
  }

  int nextOrder() const {
    for (const auto& slot : slots_) {
      if (!slot.started_yet) return slot.check->order();
    }
    return 0;
  }

  bool startedPending() const {
    for (const auto& slot : slots_) {
      if (slot.started_yet && !slot.answered) return true;
    }
    return false;
  }

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
    if (begun_ && !starting_ && !startedPending()) startNextOrder();
  }

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
      const auto waited = slot.started_yet ? Clock::now() - slot.started : Clock::duration{};
      run->outcome_.records[i] =
          CheckRecord{name, CheckResult{{policy::Symbol{"CHECK_TIMEOUT", 0, name}}, opinion},
                      std::chrono::duration_cast<std::chrono::microseconds>(waited), true};
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
  Stage stage_ = Stage::Connect;
  Context context_;  // a copy: the checks of a later order start after begin() returned
  bool begun_ = false;
  bool starting_ = false;
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
