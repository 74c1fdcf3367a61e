// RateLimits: one bucket per stage and client address (rate:conn/msg/rcpt:<ip>), 421 4.7.0 and
// a close at Connect, 450 4.7.1 at Mail and Rcpt; 0 is unlimited; allow-listed clients are
// exempt; score_only keeps the symbol and drops the opinion; a store error fails open with
// RATE_STORE_ERROR; a store that answers later is cancelled with the check's handle.
#include "checks/rate_limits.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace spamgate::checks {
namespace {

using pipeline::CheckResult;
using pipeline::Stage;
using std::chrono::milliseconds;

// A store that answers when told, or fails; records every take.
class ScriptedStore final : public store::RateStore {
 public:
  struct Take {
    std::string key;
    store::Bucket bucket;
    double cost = 0;
    Done done;
    std::shared_ptr<bool> cancelled = std::make_shared<bool>(false);
  };

  class Handle final : public store::PendingTake {
   public:
    explicit Handle(std::shared_ptr<bool> cancelled) : cancelled_(std::move(cancelled)) {}
    ~Handle() override { *cancelled_ = true; }

   private:
    std::shared_ptr<bool> cancelled_;
  };

  std::unique_ptr<store::PendingTake> take(std::string key, store::Bucket bucket, double cost,
                                           Done done) override {
    takes.push_back(Take{std::move(key), bucket, cost, std::move(done)});
    return std::make_unique<Handle>(takes.back().cancelled);
  }

  // Answers take `i` unless it was cancelled.
  void answer(std::size_t i, store::RateDecision decision) {
    if (!*takes.at(i).cancelled) takes.at(i).done(std::move(decision));
  }

  std::vector<Take> takes;
};

config::RateLimits limits(unsigned conn, unsigned msg, unsigned rcpt) {
  config::RateLimits settings;
  settings.connections_per_minute = conn;
  settings.messages_per_minute = msg;
  settings.recipients_per_minute = rcpt;
  return settings;
}

class RateLimitsTest : public ::testing::Test {
 protected:
  RateLimitsTest() {
    store::MemoryRateStore::Options options;
    options.clock = [this] { return now_; };
    store_ = std::make_unique<store::MemoryRateStore>(options);
  }

  // Runs `check` at `stage` for `ip` against the in-memory store, which answers inline.
  CheckResult run(RateLimits& check, Stage stage, const std::string& ip = "192.0.2.1") {
    pipeline::Context context;
    context.client_ip = ip;
    context.facts = &facts_;
    context.rates = store_.get();
    int calls = 0;
    CheckResult result;
    auto pending = check.start(stage, context, [&](CheckResult r) {
      ++calls;
      result = std::move(r);
    });
    EXPECT_EQ(pending, nullptr) << "the in-memory store answers inline";
    EXPECT_EQ(calls, 1);
    return result;
  }

  // Runs `n` times and expects every one to pass.
  void passes(RateLimits& check, Stage stage, int n, const std::string& ip = "192.0.2.1") {
    for (int i = 0; i < n; ++i) {
      const auto result = run(check, stage, ip);
      EXPECT_TRUE(result.symbols.empty()) << "run " << i;
      EXPECT_FALSE(result.opinion);
    }
  }

  static void expectRefused(const CheckResult& result, const std::string& symbol,
                            const std::string& detail, policy::Action action, int code,
                            const std::string& enhanced, const std::string& text) {
    ASSERT_EQ(result.symbols.size(), 1u);
    EXPECT_EQ(result.symbols[0].name, symbol);
    EXPECT_EQ(result.symbols[0].detail, detail);
    ASSERT_TRUE(result.opinion);
    EXPECT_EQ(result.opinion->action, action);
    EXPECT_EQ(result.opinion->reply.code, code);
    EXPECT_EQ(result.opinion->reply.enhanced, enhanced);
    EXPECT_EQ(result.opinion->reply.text, text);
    EXPECT_EQ(result.opinion->reply.closes, action == policy::Action::Disconnect);
    EXPECT_EQ(result.opinion->reason, "rate_limits: " + symbol);
  }

  std::chrono::steady_clock::time_point now_{std::chrono::hours(1000)};
  std::unique_ptr<store::MemoryRateStore> store_;
  pipeline::SessionFacts facts_;
};

TEST_F(RateLimitsTest, NameAndStages) {
  RateLimits check(limits(1, 1, 1));
  EXPECT_EQ(check.name(), "rate_limits");
  for (auto stage : {Stage::Connect, Stage::Mail, Stage::Rcpt})
    EXPECT_TRUE(check.runsAt(stage));
  for (auto stage : {Stage::Helo, Stage::Data, Stage::EndOfData})
    EXPECT_FALSE(check.runsAt(stage));
}

TEST_F(RateLimitsTest, ZeroIsUnlimitedAndDisabledRunsNowhere) {
  RateLimits unlimited(limits(0, 0, 0));
  for (auto stage : {Stage::Connect, Stage::Mail, Stage::Rcpt}) {
    EXPECT_FALSE(unlimited.runsAt(stage));
    passes(unlimited, stage, 100);
  }
  EXPECT_EQ(store_->size(), 0u) << "no lookup for an unlimited stage";

  auto settings = limits(1, 1, 1);
  settings.enabled = false;
  RateLimits disabled(settings);
  for (auto stage : {Stage::Connect, Stage::Mail, Stage::Rcpt})
    EXPECT_FALSE(disabled.runsAt(stage));
}

TEST_F(RateLimitsTest, ConnectionsOverTheRateAreDisconnected) {
  RateLimits check(limits(3, 0, 0));
  passes(check, Stage::Connect, 3);
  expectRefused(run(check, Stage::Connect), "RATE_CONNECTIONS",
                "3/min from 192.0.2.1, retry after 20000 ms", policy::Action::Disconnect, 421,
                "4.7.0", "Too many connections from your address, try again later");
  passes(check, Stage::Connect, 3, "198.51.100.7");  // another address has its own bucket
  now_ += milliseconds(20000);
  passes(check, Stage::Connect, 1);
  EXPECT_TRUE(run(check, Stage::Connect).opinion);
}

TEST_F(RateLimitsTest, MessagesOverTheRateAreTempfailed) {
  RateLimits check(limits(0, 2, 0));
  passes(check, Stage::Mail, 2);
  expectRefused(run(check, Stage::Mail), "RATE_MESSAGES",
                "2/min from 192.0.2.1, retry after 30000 ms", policy::Action::Tempfail, 450,
                "4.7.1", "Too many messages, slow down");
}

TEST_F(RateLimitsTest, RecipientsOverTheRateAreTempfailed) {
  RateLimits check(limits(0, 0, 300));
  passes(check, Stage::Rcpt, 300);
  expectRefused(run(check, Stage::Rcpt), "RATE_RECIPIENTS",
                "300/min from 192.0.2.1, retry after 200 ms", policy::Action::Tempfail, 450,
                "4.7.1", "Too many recipients, slow down");
}

TEST_F(RateLimitsTest, EachStageHasItsOwnBucket) {
  RateLimits check(limits(1, 1, 1));
  passes(check, Stage::Connect, 1);
  passes(check, Stage::Mail, 1);
  passes(check, Stage::Rcpt, 1);
  for (auto stage : {Stage::Connect, Stage::Mail, Stage::Rcpt})
    EXPECT_TRUE(run(check, stage).opinion);
  EXPECT_EQ(store_->size(), 3u);
}

TEST_F(RateLimitsTest, KeysAndBucketsFollowTheLayout) {
  ScriptedStore scripted;
  RateLimits check(limits(10, 20, 30));
  pipeline::Context context;
  context.rates = &scripted;
  context.client_ip = "2001:db8::5";
  for (auto stage : {Stage::Connect, Stage::Mail, Stage::Rcpt})
    check.start(stage, context, [](CheckResult) {});
  ASSERT_EQ(scripted.takes.size(), 3u);
  const char* keys[] = {"rate:conn:2001:db8::5", "rate:msg:2001:db8::5", "rate:rcpt:2001:db8::5"};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(scripted.takes[i].key, keys[i]);
    EXPECT_DOUBLE_EQ(scripted.takes[i].bucket.per_minute, 10.0 * static_cast<double>(i + 1));
    EXPECT_DOUBLE_EQ(scripted.takes[i].bucket.burst, 10.0 * static_cast<double>(i + 1));
    EXPECT_DOUBLE_EQ(scripted.takes[i].cost, 1);
  }
}

TEST_F(RateLimitsTest, AllowlistedClientsAreExempt) {
  RateLimits check(limits(1, 1, 1));
  facts_.allowlisted = true;
  for (auto stage : {Stage::Connect, Stage::Mail, Stage::Rcpt})
    passes(check, stage, 50);
  EXPECT_EQ(store_->size(), 0u) << "exempt clients take no tokens";
}

TEST_F(RateLimitsTest, ScoreOnlyKeepsTheSymbolWithoutOpinion) {
  auto settings = limits(1, 1, 1);
  settings.score_only = true;
  RateLimits check(settings);
  const std::pair<Stage, const char*> stages[] = {{Stage::Connect, "RATE_CONNECTIONS"},
                                                  {Stage::Mail, "RATE_MESSAGES"},
                                                  {Stage::Rcpt, "RATE_RECIPIENTS"}};
  for (const auto& [stage, symbol] : stages) {
    passes(check, stage, 1);
    const auto result = run(check, stage);
    ASSERT_EQ(result.symbols.size(), 1u);
    EXPECT_EQ(result.symbols[0].name, symbol);
    EXPECT_FALSE(result.opinion);
  }
}

TEST_F(RateLimitsTest, NoStoreFailsOpen) {
  RateLimits check(limits(1, 1, 1));
  pipeline::Context context;
  context.client_ip = "192.0.2.1";
  std::optional<CheckResult> result;
  EXPECT_EQ(check.start(Stage::Mail, context, [&](CheckResult r) { result = std::move(r); }),
            nullptr);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->symbols.size(), 1u);
  EXPECT_EQ(result->symbols[0].name, "RATE_STORE_ERROR");
  EXPECT_FALSE(result->opinion);
}

TEST_F(RateLimitsTest, StoreErrorFailsOpen) {
  ScriptedStore scripted;
  RateLimits check(limits(1, 1, 1));
  pipeline::Context context;
  context.rates = &scripted;
  context.client_ip = "192.0.2.1";
  std::optional<CheckResult> result;
  auto pending = check.start(Stage::Mail, context, [&](CheckResult r) { result = std::move(r); });
  ASSERT_NE(pending, nullptr);
  store::RateDecision failed;
  failed.error = "redis 127.0.0.1:6379: connection refused";
  scripted.answer(0, failed);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->symbols.size(), 1u);
  EXPECT_EQ(result->symbols[0].name, "RATE_STORE_ERROR");
  EXPECT_EQ(result->symbols[0].detail, "redis 127.0.0.1:6379: connection refused");
  EXPECT_EQ(result->symbols[0].score, 0);
  EXPECT_FALSE(result->opinion);
}

TEST_F(RateLimitsTest, LaterAnswerArrivesThroughTheHandle) {
  ScriptedStore scripted;
  RateLimits check(limits(5, 5, 5));
  pipeline::Context context;
  context.rates = &scripted;
  context.client_ip = "192.0.2.9";
  std::optional<CheckResult> result;
  auto pending = check.start(Stage::Rcpt, context, [&](CheckResult r) { result = std::move(r); });
  ASSERT_NE(pending, nullptr);
  context.client_ip = "garbage";  // the Context is gone by now: the check copied what it needs
  EXPECT_FALSE(result);
  store::RateDecision refused;
  refused.retry_after = milliseconds(12000);
  scripted.answer(0, refused);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->symbols.size(), 1u);
  EXPECT_EQ(result->symbols[0].detail, "5/min from 192.0.2.9, retry after 12000 ms");
  ASSERT_TRUE(result->opinion);
  EXPECT_EQ(result->opinion->reply.code, 450);
}

TEST_F(RateLimitsTest, DestroyingTheHandleCancelsTheTake) {
  ScriptedStore scripted;
  RateLimits check(limits(5, 5, 5));
  pipeline::Context context;
  context.rates = &scripted;
  context.client_ip = "192.0.2.1";
  bool called = false;
  auto pending = check.start(Stage::Connect, context, [&](CheckResult) { called = true; });
  ASSERT_NE(pending, nullptr);
  pending.reset();
  EXPECT_TRUE(*scripted.takes[0].cancelled);
  scripted.answer(0, store::RateDecision{true, 4, milliseconds(0), ""});
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace spamgate::checks
