// StageRun: checks answering inline and later on the loop, a check that never answers (the
// deadline cancels it and tempfails), cancelling a whole run, and a `done` that destroys the
// run it is called from.
#include "pipeline/stage_run.h"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace spamgate::pipeline {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// libevent reads a coarse monotonic clock, so a timer may fire a few milliseconds early.
constexpr auto kSlack = 10ms;

struct Base {
  Base() : base(event_base_new()) {}
  ~Base() { event_base_free(base); }
  Base(const Base&) = delete;
  Base& operator=(const Base&) = delete;
  event_base* base;
};

// What the test can observe of one check.
struct Probe {
  int starts = 0;
  int cancels = 0;  // handle destroyed before it answered
  int answers = 0;
};

CheckResult resultWith(const std::string& symbol, double score,
                       std::optional<policy::Action> action = std::nullopt) {
  CheckResult result{{policy::Symbol{symbol, score, "detail " + symbol}}, std::nullopt};
  if (action) {
    result.opinion =
        policy::Opinion{*action, smtp::makeReply(550, "5.7.1", "no"), "reason " + symbol};
  }
  return result;
}

// Answers with `result` after `delay` on the loop; never if `delay` is empty; inline if zero.
class FakeCheck final : public Check {
 public:
  FakeCheck(event_base* base, std::string name, std::optional<std::chrono::milliseconds> delay,
            CheckResult result, std::vector<Stage> stages = {Stage::Connect})
      : base_(base),
        name_(std::move(name)),
        delay_(delay),
        result_(std::move(result)),
        stages_(std::move(stages)) {}

  std::string_view name() const override { return name_; }
  int order() const override { return order_; }
  bool runsAt(Stage stage) const override {
    for (auto s : stages_) {
      if (s == stage) return true;
    }
    return false;
  }
  std::unique_ptr<PendingCheck> start(Stage, const Context& context, CheckDone done) override {
    ++probe.starts;
    started_at = Clock::now();
    seen_ip = context.client_ip;
    seen_prior = context.prior_symbols;
    if (delay_ && *delay_ == 0ms) {
      ++probe.answers;
      done(result_);
      return nullptr;
    }
    return std::make_unique<Pending>(*this, std::move(done));
  }

  Probe probe;
  std::string seen_ip;
  std::vector<std::string> seen_prior;
  int order_ = 0;
  Clock::time_point started_at;

 private:
  class Pending final : public PendingCheck {
   public:
    Pending(FakeCheck& check, CheckDone done)
        : check_(check), done_(std::move(done)), timer_(evtimer_new(check.base_, &onTimer, this)) {
      if (check_.delay_) {
        const auto ms = check_.delay_->count();
        const timeval tv{static_cast<time_t>(ms / 1000),
                         static_cast<suseconds_t>(ms % 1000 * 1000)};
        evtimer_add(timer_, &tv);
      }
    }
    ~Pending() override {
      if (!answered_) ++check_.probe.cancels;
      event_free(timer_);
    }
    Pending(const Pending&) = delete;
    Pending& operator=(const Pending&) = delete;

   private:
    static void onTimer(evutil_socket_t, short, void* arg) {
      auto* self = static_cast<Pending*>(arg);
      self->answered_ = true;
      ++self->check_.probe.answers;
      // `done` may destroy this handle: move it out and touch nothing afterwards.
      auto done = std::move(self->done_);
      done(self->check_.result_);
    }

    FakeCheck& check_;
    CheckDone done_;
    event* timer_;
    bool answered_ = false;
  };

  event_base* base_;
  std::string name_;
  std::optional<std::chrono::milliseconds> delay_;
  CheckResult result_;
  std::vector<Stage> stages_;
};

class StageRunTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeCheck> add(std::string name, std::optional<std::chrono::milliseconds> delay,
                                 CheckResult result = {},
                                 std::vector<Stage> stages = {Stage::Connect}) {
    auto check = std::make_shared<FakeCheck>(loop_.base, std::move(name), delay, std::move(result),
                                             std::move(stages));
    checks_.push_back(check);
    return check;
  }

  std::unique_ptr<StageRun> start(std::chrono::milliseconds deadline,
                                  Stage stage = Stage::Connect) {
    context_.client_ip = "192.0.2.7";
    started_ = Clock::now();
    return StageRun::start(loop_.base, checks_, stage, context_, deadline,
                           [this](StageOutcome outcome) {
                             ++done_calls_;
                             elapsed_ = Clock::now() - started_;
                             outcome_ = std::move(outcome);
                           });
  }

  // Runs the loop until it has nothing left to do, bounded by a guard timer.
  void runLoop(std::chrono::milliseconds guard = 5000ms) {
    event* timer = evtimer_new(
        loop_.base,
        [](evutil_socket_t, short, void* base) {
          event_base_loopbreak(static_cast<event_base*>(base));
        },
        loop_.base);
    const timeval tv{static_cast<time_t>(guard.count() / 1000),
                     static_cast<suseconds_t>(guard.count() % 1000 * 1000)};
    evtimer_add(timer, &tv);
    // Stop as soon as only the guard is left.
    while (event_base_get_num_events(loop_.base, EVENT_BASE_COUNT_ADDED) > 1 &&
           !event_base_got_break(loop_.base)) {
      event_base_loop(loop_.base, EVLOOP_ONCE);
    }
    event_free(timer);
  }

  Base loop_;
  Checks checks_;
  Context context_;
  int done_calls_ = 0;
  std::optional<StageOutcome> outcome_;
  Clock::time_point started_;
  Clock::duration elapsed_{};
};

TEST_F(StageRunTest, AllInlineReturnsNullptrAfterDone) {
  auto a = add("a", 0ms, resultWith("A_SYM", 1.5));
  auto b = add("b", 0ms, resultWith("B_SYM", -1, policy::Action::Reject));
  auto run = start(1000ms);
  EXPECT_EQ(run, nullptr);
  ASSERT_EQ(done_calls_, 1);
  ASSERT_EQ(outcome_->records.size(), 2u);
  EXPECT_EQ(outcome_->records[0].check, "a");
  EXPECT_EQ(outcome_->records[0].result.symbols.at(0).name, "A_SYM");
  EXPECT_FALSE(outcome_->records[0].result.opinion);
  EXPECT_FALSE(outcome_->records[0].timed_out);
  EXPECT_EQ(outcome_->records[1].check, "b");
  ASSERT_TRUE(outcome_->records[1].result.opinion);
  EXPECT_EQ(outcome_->records[1].result.opinion->action, policy::Action::Reject);
  EXPECT_EQ(outcome_->records[1].result.opinion->reason, "reason B_SYM");
  EXPECT_EQ(a->seen_ip, "192.0.2.7");
  runLoop();
  EXPECT_EQ(done_calls_, 1);
}

TEST_F(StageRunTest, NoChecksAtThisStageIsAnEmptyInlineOutcome) {
  auto a = add("a", 0ms, resultWith("A", 1), {Stage::Rcpt});
  auto run = start(1000ms, Stage::Mail);
  EXPECT_EQ(run, nullptr);
  ASSERT_EQ(done_calls_, 1);
  EXPECT_TRUE(outcome_->records.empty());
  EXPECT_EQ(a->probe.starts, 0);
}

TEST_F(StageRunTest, OnlyChecksForTheStageRun) {
  auto connect = add("connect", 0ms, resultWith("C", 1), {Stage::Connect});
  auto rcpt = add("rcpt", 0ms, resultWith("R", 1), {Stage::Rcpt, Stage::EndOfData});
  EXPECT_EQ(start(1000ms, Stage::Rcpt), nullptr);
  EXPECT_EQ(connect->probe.starts, 0);
  EXPECT_EQ(rcpt->probe.starts, 1);
  ASSERT_EQ(outcome_->records.size(), 1u);
  EXPECT_EQ(outcome_->records[0].check, "rcpt");
}

TEST_F(StageRunTest, AsyncChecksAnswerLaterOnTheLoop) {
  auto fast = add("fast", 0ms, resultWith("INLINE", 1));
  auto slow = add("slow", 60ms, resultWith("SLOW", 2));
  auto slower = add("slower", 30ms, resultWith("SLOWER", 3));
  auto run = start(5000ms);
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(done_calls_, 0);
  runLoop();
  ASSERT_EQ(done_calls_, 1);
  EXPECT_GE(elapsed_, 60ms - kSlack);
  EXPECT_LT(elapsed_, 4000ms) << "must not wait for the deadline";
  ASSERT_EQ(outcome_->records.size(), 3u);
  // Records keep the order of the checks, not of the answers.
  EXPECT_EQ(outcome_->records[0].result.symbols.at(0).name, "INLINE");
  EXPECT_EQ(outcome_->records[1].check, "slow");
  EXPECT_EQ(outcome_->records[1].result.symbols.at(0).name, "SLOW");
  EXPECT_GE(outcome_->records[1].duration, 60ms - kSlack);
  EXPECT_EQ(outcome_->records[2].result.symbols.at(0).name, "SLOWER");
  EXPECT_GE(outcome_->records[2].duration, 30ms - kSlack);
  for (const auto& record : outcome_->records)
    EXPECT_FALSE(record.timed_out);
  EXPECT_EQ(slow->probe.cancels, 0);
  EXPECT_EQ(slower->probe.cancels, 0);
}

TEST_F(StageRunTest, CheckThatNeverAnswersTimesOutAsTempfailAndIsCancelled) {
  auto fast = add("fast", 0ms, resultWith("FAST", 1));
  auto quick = add("quick", 10ms, resultWith("QUICK", 1));
  auto never = add("never", std::nullopt);
  auto run = start(80ms);
  ASSERT_NE(run, nullptr);
  runLoop();
  ASSERT_EQ(done_calls_, 1);
  EXPECT_GE(elapsed_, 80ms - kSlack);
  EXPECT_EQ(never->probe.cancels, 1) << "the late check's handle must be destroyed";
  EXPECT_EQ(quick->probe.cancels, 0);
  ASSERT_EQ(outcome_->records.size(), 3u);
  EXPECT_FALSE(outcome_->records[0].timed_out);
  EXPECT_FALSE(outcome_->records[1].timed_out);
  EXPECT_EQ(outcome_->records[1].result.symbols.at(0).name, "QUICK");
  const auto& late = outcome_->records[2];
  EXPECT_EQ(late.check, "never");
  EXPECT_TRUE(late.timed_out);
  EXPECT_GE(late.duration, 80ms - kSlack);
  ASSERT_EQ(late.result.symbols.size(), 1u);
  EXPECT_EQ(late.result.symbols[0].name, "CHECK_TIMEOUT");
  EXPECT_EQ(late.result.symbols[0].detail, "never");
  ASSERT_TRUE(late.result.opinion);
  EXPECT_EQ(late.result.opinion->action, policy::Action::Tempfail);
  EXPECT_EQ(late.result.opinion->reply.code, 451);
  EXPECT_EQ(late.result.opinion->reply.enhanced, "4.4.3");
  EXPECT_EQ(late.result.opinion->reason, "never: CHECK_TIMEOUT");
}

TEST_F(StageRunTest, SlowCheckAfterTheDeadlineIsIgnored) {
  auto slow = add("slow", 150ms, resultWith("SLOW", 7, policy::Action::Reject));
  auto run = start(30ms);
  ASSERT_NE(run, nullptr);
  runLoop();
  ASSERT_EQ(done_calls_, 1);
  EXPECT_EQ(slow->probe.cancels, 1);
  EXPECT_EQ(slow->probe.answers, 0);
  ASSERT_EQ(outcome_->records.size(), 1u);
  EXPECT_TRUE(outcome_->records[0].timed_out);
  EXPECT_EQ(outcome_->records[0].result.opinion->action, policy::Action::Tempfail);
  // Keep the run alive past the slow check's time: nothing more happens.
  event* later = evtimer_new(
      loop_.base, [](evutil_socket_t, short, void*) {}, nullptr);
  const timeval tv{0, 200 * 1000};
  evtimer_add(later, &tv);
  runLoop();
  event_free(later);
  EXPECT_EQ(done_calls_, 1);
  EXPECT_EQ(slow->probe.answers, 0);
}

TEST_F(StageRunTest, AnswerAndDeadlineInTheSameLoopIteration) {
  // Both timers expire together: whichever runs first, done runs once and the outcome agrees
  // with what the check saw.
  for (int round = 0; round < 20; ++round) {
    checks_.clear();
    done_calls_ = 0;
    auto racer = add("racer", 40ms, resultWith("RACER", 1));
    auto run = start(40ms);
    ASSERT_NE(run, nullptr);
    runLoop();
    ASSERT_EQ(done_calls_, 1);
    const auto& record = outcome_->records.at(0);
    if (record.timed_out) {
      EXPECT_EQ(racer->probe.cancels, 1);
      EXPECT_EQ(racer->probe.answers, 0);
    } else {
      EXPECT_EQ(racer->probe.cancels, 0);
      EXPECT_EQ(racer->probe.answers, 1);
      EXPECT_EQ(record.result.symbols.at(0).name, "RACER");
    }
  }
}

TEST_F(StageRunTest, DestroyingTheRunCancelsChecksAndDoneNeverRuns) {
  auto fast = add("fast", 0ms, resultWith("FAST", 1));
  auto a = add("a", 20ms, resultWith("A", 1));
  auto b = add("b", std::nullopt);
  auto run = start(50ms);
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(a->probe.cancels + b->probe.cancels, 0);
  run.reset();
  EXPECT_EQ(a->probe.cancels, 1);
  EXPECT_EQ(b->probe.cancels, 1);
  // Past both the check's answer time and the deadline: done must stay silent.
  event* later = evtimer_new(
      loop_.base, [](evutil_socket_t, short, void*) {}, nullptr);
  const timeval tv{0, 120 * 1000};
  evtimer_add(later, &tv);
  runLoop();
  event_free(later);
  EXPECT_EQ(done_calls_, 0);
  EXPECT_EQ(a->probe.answers, 0);
}

TEST_F(StageRunTest, DestroyingTheRunAfterDoneIsHarmless) {
  auto a = add("a", 10ms, resultWith("A", 1));
  auto run = start(1000ms);
  ASSERT_NE(run, nullptr);
  runLoop();
  ASSERT_EQ(done_calls_, 1);
  run.reset();
  EXPECT_EQ(done_calls_, 1);
  EXPECT_EQ(a->probe.cancels, 0);
}

// The owner releases the run from inside `done`, as a session does when it moves on.
class SelfDestroyTest : public StageRunTest {
 protected:
  void startOwned(std::chrono::milliseconds deadline) {
    started_ = Clock::now();
    run_ = StageRun::start(loop_.base, checks_, Stage::Connect, context_, deadline,
                           [this](StageOutcome outcome) {
                             ++done_calls_;
                             run_.reset();  // destroys the StageRun that is calling us
                             outcome_ = std::move(outcome);
                           });
  }
  std::unique_ptr<StageRun> run_;
};

TEST_F(SelfDestroyTest, DoneDestroysTheRunAfterAnAsyncAnswer) {
  auto a = add("a", 10ms, resultWith("A", 1));
  auto b = add("b", 30ms, resultWith("B", 2));
  startOwned(5000ms);
  ASSERT_NE(run_, nullptr);
  runLoop();
  EXPECT_EQ(done_calls_, 1);
  EXPECT_EQ(run_, nullptr);
  ASSERT_TRUE(outcome_);
  ASSERT_EQ(outcome_->records.size(), 2u);
  EXPECT_EQ(outcome_->records[1].result.symbols.at(0).name, "B");
}

TEST_F(SelfDestroyTest, DoneDestroysTheRunAtTheDeadline) {
  auto never = add("never", std::nullopt);
  startOwned(20ms);
  ASSERT_NE(run_, nullptr);
  runLoop();
  EXPECT_EQ(done_calls_, 1);
  EXPECT_EQ(run_, nullptr);
  EXPECT_EQ(never->probe.cancels, 1);
  ASSERT_TRUE(outcome_);
  EXPECT_TRUE(outcome_->records.at(0).timed_out);
}

TEST_F(SelfDestroyTest, DoneResettingANullRunWhenAllInline) {
  add("a", 0ms, resultWith("A", 1));
  startOwned(1000ms);
  EXPECT_EQ(done_calls_, 1);
  EXPECT_EQ(run_, nullptr);
}

}  // namespace
}  // namespace spamgate::pipeline

namespace spamgate::pipeline {
namespace {

TEST_F(StageRunTest, LaterOrderStartsOnceTheEarlierOrderHasAnswered) {
  auto late = add("late", 0ms, resultWith("LATE", 1));
  late->order_ = 1;
  auto early = add("early", 50ms, resultWith("EARLY", 2));
  context_.prior_symbols = {"EARLIER"};
  auto run = start(5000ms);
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(late->probe.starts, 0) << "must wait for the early check";
  runLoop();
  ASSERT_EQ(done_calls_, 1);
  EXPECT_EQ(late->probe.starts, 1);
  EXPECT_GE(late->started_at - early->started_at, 50ms - kSlack);
  EXPECT_EQ(late->seen_ip, "192.0.2.7") << "the later order sees the same context";
  EXPECT_EQ(late->seen_prior, (std::vector<std::string>{"EARLIER", "EARLY"}))
      << "and the symbols of the earlier order";
  EXPECT_EQ(early->seen_prior, (std::vector<std::string>{"EARLIER"}));
  ASSERT_EQ(outcome_->records.size(), 2u);
  EXPECT_EQ(outcome_->records[0].check, "early");
  EXPECT_EQ(outcome_->records[1].check, "late");
}

TEST_F(StageRunTest, OrdersAnsweringInlineChainWithoutTheLoop) {
  auto second = add("second", 0ms, resultWith("SECOND", 1));
  second->order_ = 2;
  auto first = add("first", 0ms, resultWith("FIRST", 1));
  first->order_ = 1;
  auto zeroth = add("zeroth", 0ms, resultWith("ZEROTH", 1));
  auto run = start(5000ms);
  EXPECT_EQ(run, nullptr);
  ASSERT_EQ(done_calls_, 1);
  ASSERT_EQ(outcome_->records.size(), 3u);
  EXPECT_EQ(outcome_->records[0].check, "zeroth");
  EXPECT_EQ(outcome_->records[2].check, "second");
}

TEST_F(StageRunTest, AnInlineLaterOrderAfterAnAsyncOneFinishesOnce) {
  auto early = add("early", 10ms, resultWith("EARLY", 1));
  auto late = add("late", 0ms, resultWith("LATE", 1));
  late->order_ = 1;
  auto run = start(5000ms);
  ASSERT_NE(run, nullptr);
  runLoop();
  EXPECT_EQ(done_calls_, 1);
  EXPECT_EQ(late->probe.answers, 1);
}

TEST_F(StageRunTest, DeadlineBeforeTheLaterOrderMeansItNeverStarts) {
  auto stuck = add("stuck", std::nullopt);
  auto late = add("late", 0ms, resultWith("LATE", 1));
  late->order_ = 1;
  auto run = start(40ms);
  ASSERT_NE(run, nullptr);
  runLoop();
  ASSERT_EQ(done_calls_, 1);
  EXPECT_EQ(late->probe.starts, 0);
  ASSERT_EQ(outcome_->records.size(), 2u);
  EXPECT_TRUE(outcome_->records[1].timed_out);
  EXPECT_EQ(outcome_->records[1].duration.count(), 0);
  EXPECT_EQ(stuck->probe.cancels, 1);
}

}  // namespace
}  // namespace spamgate::pipeline
