// Pregreet: inline with wait 0; with a wait, on a real event_base, the facts are read when the
// timer fires (bytes that arrive during the wait count); score vs enforce (554 5.5.1 at once);
// allow-listed clients exempt and not kept waiting; cancel frees the timer and `done` never
// runs; a handle destroyed from inside `done` is safe.
#include "checks/pregreet.h"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <functional>
#include <optional>

namespace spamgate::checks {
namespace {

using pipeline::CheckResult;
using pipeline::Stage;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

config::Pregreet settings(milliseconds wait, bool enforce = false) {
  config::Pregreet result;
  result.wait = wait;
  result.enforce = enforce;
  result.score = 5;
  return result;
}

// Runs `action` after `delay` on `base` (event_base_once frees its event itself).
void after(event_base* base, milliseconds delay, std::function<void()> action) {
  auto* held = new std::function<void()>(std::move(action));
  timeval tv{0, static_cast<suseconds_t>(delay.count() * 1000)};
  event_base_once(
      base, -1, EV_TIMEOUT,
      [](evutil_socket_t, short, void* arg) {
        auto* f = static_cast<std::function<void()>*>(arg);
        (*f)();
        delete f;
      },
      held, &tv);
}

class PregreetTest : public ::testing::Test {
 protected:
  PregreetTest() : base_(event_base_new()) { context_.facts = &facts_; }
  ~PregreetTest() override { event_base_free(base_); }

  // Starts the check and expects an inline answer.
  CheckResult inlineResult(Pregreet& check) {
    std::optional<CheckResult> result;
    auto pending = check.start(Stage::Connect, context_, [&](CheckResult r) {
      EXPECT_FALSE(result) << "done runs once";
      result = std::move(r);
    });
    EXPECT_EQ(pending, nullptr);
    EXPECT_TRUE(result);
    return result.value_or(CheckResult{});
  }

  static void expectPregreet(const CheckResult& result, bool enforced) {
    ASSERT_EQ(result.symbols.size(), 1u);
    EXPECT_EQ(result.symbols[0].name, "PREGREET");
    EXPECT_EQ(result.symbols[0].score, 5);
    EXPECT_EQ(result.symbols[0].detail, "client spoke before the greeting");
    ASSERT_EQ(result.opinion.has_value(), enforced);
    if (!enforced) return;
    EXPECT_EQ(result.opinion->action, policy::Action::Reject);
    EXPECT_EQ(result.opinion->reply.code, 554);
    EXPECT_EQ(result.opinion->reply.enhanced, "5.5.1");
    EXPECT_EQ(result.opinion->reply.text, "Protocol error: talked before the greeting");
    EXPECT_FALSE(result.opinion->at_rcpt);
    EXPECT_EQ(result.opinion->reason, "pregreet: PREGREET");
  }

  event_base* base_;
  pipeline::SessionFacts facts_;
  pipeline::Context context_;
};

TEST_F(PregreetTest, NameAndStage) {
  Pregreet check(settings(milliseconds(0)));
  EXPECT_EQ(check.name(), "pregreet");
  EXPECT_TRUE(check.runsAt(Stage::Connect));
  for (auto stage : {Stage::Helo, Stage::Mail, Stage::Rcpt, Stage::Data, Stage::EndOfData})
    EXPECT_FALSE(check.runsAt(stage));
  auto off = settings(milliseconds(0));
  off.enabled = false;
  EXPECT_FALSE(Pregreet(off).runsAt(Stage::Connect));
}

TEST_F(PregreetTest, NoWaitQuietClient) {
  Pregreet check(settings(milliseconds(0)));
  const auto result = inlineResult(check);
  EXPECT_TRUE(result.symbols.empty());
  EXPECT_FALSE(result.opinion);
}

TEST_F(PregreetTest, NoWaitTalkerScores) {
  Pregreet check(settings(milliseconds(0)));
  facts_.pregreet = true;
  expectPregreet(inlineResult(check), false);
}

TEST_F(PregreetTest, NoWaitTalkerEnforced) {
  Pregreet check(settings(milliseconds(0), true));
  facts_.pregreet = true;
  expectPregreet(inlineResult(check), true);
}

TEST_F(PregreetTest, NoFactsReadsAsQuiet) {
  Pregreet check(settings(milliseconds(0), true));
  context_.facts = nullptr;
  EXPECT_TRUE(inlineResult(check).symbols.empty());
}

TEST_F(PregreetTest, AllowlistedIsExemptAndDoesNotWait) {
  Pregreet check(settings(milliseconds(50), true));
  context_.loop = base_;
  facts_.pregreet = true;
  facts_.allowlisted = true;
  const auto result = inlineResult(check);
  EXPECT_TRUE(result.symbols.empty());
  EXPECT_FALSE(result.opinion);
}

// Starts the check with a wait on the real loop and runs the loop until nothing is left.
class PregreetWaitTest : public PregreetTest {
 protected:
  struct Outcome {
    int calls = 0;
    CheckResult result;
    milliseconds elapsed{0};
  };

  Outcome runWithWait(Pregreet& check, std::function<void()> during_wait = nullptr) {
    context_.loop = base_;
    Outcome outcome;
    const auto started = SteadyClock::now();
    auto pending = check.start(Stage::Connect, context_, [&](CheckResult r) {
      ++outcome.calls;
      outcome.result = std::move(r);
      outcome.elapsed = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - started);
    });
    EXPECT_NE(pending, nullptr);
    EXPECT_EQ(outcome.calls, 0) << "nothing before the wait is over";
    if (during_wait) after(base_, milliseconds(10), std::move(during_wait));
    event_base_dispatch(base_);
    return outcome;
  }
};

TEST_F(PregreetWaitTest, QuietClientPassesAfterTheWait) {
  Pregreet check(settings(milliseconds(50), true));
  const auto outcome = runWithWait(check);
  EXPECT_EQ(outcome.calls, 1);
  EXPECT_GE(outcome.elapsed, milliseconds(45));
  EXPECT_TRUE(outcome.result.symbols.empty());
  EXPECT_FALSE(outcome.result.opinion);
}

TEST_F(PregreetWaitTest, TalkingDuringTheWaitScores) {
  Pregreet check(settings(milliseconds(50)));
  const auto outcome = runWithWait(check, [this] { facts_.pregreet = true; });
  EXPECT_EQ(outcome.calls, 1);
  EXPECT_GE(outcome.elapsed, milliseconds(45));
  expectPregreet(outcome.result, false);
}

TEST_F(PregreetWaitTest, TalkingDuringTheWaitEnforced) {
  Pregreet check(settings(milliseconds(50), true));
  const auto outcome = runWithWait(check, [this] { facts_.pregreet = true; });
  EXPECT_EQ(outcome.calls, 1);
  expectPregreet(outcome.result, true);
}

TEST_F(PregreetWaitTest, AllowlistedDuringTheWaitIsExempt) {
  Pregreet check(settings(milliseconds(50), true));
  const auto outcome = runWithWait(check, [this] {
    facts_.pregreet = true;
    facts_.allowlisted = true;
  });
  EXPECT_EQ(outcome.calls, 1);
  EXPECT_TRUE(outcome.result.symbols.empty());
}

TEST_F(PregreetWaitTest, CancelBeforeTheTimerFires) {
  Pregreet check(settings(milliseconds(50), true));
  context_.loop = base_;
  facts_.pregreet = true;
  bool called = false;
  auto pending = check.start(Stage::Connect, context_, [&](CheckResult) { called = true; });
  ASSERT_NE(pending, nullptr);
  after(base_, milliseconds(10), [&] { pending.reset(); });
  after(base_, milliseconds(100), [] {});  // outlives the wait the check would have had
  event_base_dispatch(base_);
  EXPECT_FALSE(called);
  EXPECT_EQ(pending, nullptr);
}

TEST_F(PregreetWaitTest, HandleDestroyedInsideDone) {
  Pregreet check(settings(milliseconds(20)));
  context_.loop = base_;
  facts_.pregreet = true;
  std::unique_ptr<pipeline::PendingCheck> pending;
  int calls = 0;
  pending = check.start(Stage::Connect, context_, [&](CheckResult result) {
    ++calls;
    pending.reset();  // what StageRun does once the last check answered
    expectPregreet(result, false);
  });
  event_base_dispatch(base_);
  EXPECT_EQ(calls, 1);
}

TEST_F(PregreetWaitTest, ChecksOnOneLoopWaitSideBySide) {
  Pregreet check(settings(milliseconds(50)));
  context_.loop = base_;
  pipeline::SessionFacts talker;
  talker.pregreet = true;
  std::vector<std::unique_ptr<pipeline::PendingCheck>> handles;
  int symbols = 0;
  int calls = 0;
  for (int i = 0; i < 10; ++i) {
    context_.facts = i % 2 == 0 ? &talker : &facts_;
    handles.push_back(check.start(Stage::Connect, context_, [&](CheckResult result) {
      ++calls;
      symbols += static_cast<int>(result.symbols.size());
    }));
  }
  const auto started = SteadyClock::now();
  event_base_dispatch(base_);
  EXPECT_EQ(calls, 10);
  EXPECT_EQ(symbols, 5);
  EXPECT_LT(SteadyClock::now() - started, milliseconds(300)) << "they wait in parallel";
}

TEST(PregreetDeathTest, WaitWithoutLoopIsABrokenInvariant) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Pregreet check(settings(milliseconds(50)));
  pipeline::Context context;
  EXPECT_DEATH(check.start(Stage::Connect, context, [](CheckResult) {}), "Context::loop is null");
}

}  // namespace
}  // namespace spamgate::checks
