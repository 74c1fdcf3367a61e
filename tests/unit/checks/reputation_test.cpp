// Learned reputation: the decay (8 decisions are 4 after one half-life, 2 after two), the record
// text, the bad share, the GOOD/BAD/none thresholds and the network's REPUTATION_NET_BAD at half
// weight; the check at Connect on a fake store (skips allow-listed clients, fails open on a
// store error); learnFromDecision() updating both keys (decayed, TTL 8 half-lives) and spfok.
#include "checks/reputation.h"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <cmath>

#include "fake_state_store.h"
#include "store/redis_store.h"
#include "support/event_loop.h"
#include "unit/store/redis_server.h"

namespace spamgate::checks {
namespace {

using namespace std::chrono_literals;
using pipeline::CheckResult;
using pipeline::Stage;
using reputation::Record;

constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kWeekMs = int64_t{7} * 24 * 3600 * 1000;

Record record(double accept, double tag, double tempfail, double reject, int64_t at = kStart) {
  return Record{accept, tag, tempfail, reject, at};
}

TEST(ReputationMath, DecaysByHalfPerHalfLife) {
  const auto week = std::chrono::seconds(7 * 24 * 3600);
  const Record r = record(8, 4, 2, 1);
  const Record one = reputation::decayed(r, kStart + kWeekMs, week);
  EXPECT_DOUBLE_EQ(one.accept, 4);
  EXPECT_DOUBLE_EQ(one.tag, 2);
  EXPECT_DOUBLE_EQ(one.tempfail, 1);
  EXPECT_DOUBLE_EQ(one.reject, 0.5);
  EXPECT_EQ(one.updated_ms, kStart + kWeekMs);
  EXPECT_DOUBLE_EQ(reputation::decayed(r, kStart + 2 * kWeekMs, week).accept, 2);
  EXPECT_NEAR(reputation::decayed(r, kStart + kWeekMs / 2, week).accept, 8 / std::sqrt(2.0), 1e-9);
  EXPECT_DOUBLE_EQ(reputation::decayed(r, kStart - 1000, week).accept, 8);  // another's clock
}

TEST(ReputationMath, RecordTextRoundTrips) {
  const Record r = record(2.5, 0.125, 0, 3, kStart);
  EXPECT_EQ(reputation::encode(r), "v1 2.5 0.125 0 3 1700000000000");
  const auto back = reputation::decode(reputation::encode(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->accept, 2.5);
  EXPECT_EQ(back->tag, 0.125);
  EXPECT_EQ(back->reject, 3);
  EXPECT_EQ(back->updated_ms, kStart);
  for (const char* bad : {"", "v1", "v2 1 1 1 1 1", "v1 1 1 1 1", "v1 1 1 x 1 1", "v1 1 1 -1 1 1",
                          "v1 1 1 1 1 1 extra"}) {
    EXPECT_FALSE(reputation::decode(bad)) << bad;
  }
}

TEST(ReputationMath, BadShareWeighsTagAndTempfailHalf) {
  EXPECT_DOUBLE_EQ(record(5, 2, 2, 1).badShare(), 0.3);
  EXPECT_DOUBLE_EQ(record(0, 0, 0, 0).badShare(), 0);
}

TEST(ReputationMath, Thresholds) {
  config::Reputation s;  // min 3, good -1, bad 4
  auto judge = [&](std::optional<Record> ip, std::optional<Record> net = std::nullopt) {
    return reputation::judge(s, ip, net);
  };
  auto good = judge(record(3, 0, 0, 0));
  ASSERT_EQ(good.size(), 1u);
  EXPECT_EQ(good[0].name, "REPUTATION_GOOD");
  EXPECT_EQ(good[0].score, -1);
  EXPECT_EQ(good[0].detail, "3.0 decisions, 0% bad");
  EXPECT_EQ(judge(record(19, 1, 0, 0))[0].name, "REPUTATION_GOOD");  // 2.5% bad
  EXPECT_TRUE(judge(record(2.9, 0, 0, 0)).empty());                  // too few decisions
  EXPECT_TRUE(judge(record(2.9, 0.1, 0, 0)).empty());                // enough, too few accepts
  EXPECT_TRUE(judge(record(7, 0, 0, 3)).empty());                    // 30% bad: no opinion
  EXPECT_TRUE(judge(std::nullopt).empty());
  auto bad = judge(record(1, 0, 0, 2));
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].name, "REPUTATION_BAD");
  EXPECT_NEAR(bad[0].score, 4.0 * 2 / 3, 1e-9);
  EXPECT_EQ(bad[0].detail, "3.0 decisions, 67% bad");
  EXPECT_EQ(judge(record(0, 2, 2, 0))[0].score, 2);  // tags and tempfails: half bad
}

TEST(ReputationMath, NetworkGivesOnlyBadAtHalfWeight) {
  config::Reputation s;
  auto net = reputation::judge(s, std::nullopt, record(0, 0, 0, 12.3));
  ASSERT_EQ(net.size(), 1u);
  EXPECT_EQ(net[0].name, "REPUTATION_NET_BAD");
  EXPECT_EQ(net[0].score, 2);
  EXPECT_EQ(net[0].detail, "12.3 decisions, 100% bad");
  EXPECT_TRUE(reputation::judge(s, std::nullopt, record(10, 0, 0, 0)).empty());
  EXPECT_TRUE(reputation::judge(s, std::nullopt, record(0, 0, 0, 2)).empty());
}

TEST(ReputationMath, Keys) {
  EXPECT_EQ(clientNetwork("192.0.2.77", 24, 64), "192.0.2.0/24");
  EXPECT_EQ(clientNetwork("192.0.2.77", 20, 64), "192.0.0.0/20");
  EXPECT_EQ(clientNetwork("::ffff:192.0.2.77", 24, 64), "192.0.2.0/24");
  EXPECT_EQ(clientNetwork("2001:db8:a:b:c:d:e:f", 24, 48), "2001:db8:a::/48");
  EXPECT_EQ(clientNetwork("bogus", 24, 64), "");
  EXPECT_EQ(reputation::spfKey("Example.ORG"), "spfok:example.org");
}

class ReputationTest : public ::testing::Test {
 protected:
  ReputationTest() : base_(event_base_new()), fake_(base_, now_ms_) {
    config_.greylist.enabled = true;
  }
  ~ReputationTest() override { event_base_free(base_); }

  WallClock clock() {
    return [this] {
      return std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms_));
    };
  }
  std::optional<CheckResult> connect(const std::string& ip = "192.0.2.7") {
    ReputationCheck check(config_.reputation, clock());
    pipeline::Context context;
    context.client_ip = ip;
    context.facts = &facts_;
    context.state = &fake_;
    std::optional<CheckResult> got;
    auto pending = check.start(Stage::Connect, context, [&](CheckResult r) { got = std::move(r); });
    test::runUntil(
        base_, [&] { return got.has_value(); }, 2000ms);
    return got;
  }
  void learn(const std::string& action, const std::string& reason = "",
             const std::string& spf_domain = "") {
    learnFromDecision(fake_, config_, {"192.0.2.7", action, reason, spf_domain}, clock());
    test::runFor(base_, 20ms);
  }
  std::optional<Record> stored(const std::string& key) {
    auto* item = fake_.find(key);
    return item ? reputation::decode(item->value) : std::nullopt;
  }

  int64_t now_ms_ = kStart;
  event_base* base_;
  test::FakeStateStore fake_;
  config::Config config_;
  pipeline::SessionFacts facts_;
};

TEST_F(ReputationTest, LearningUpdatesBothKeysWithDecay) {
  learn("reject");
  auto ip = stored("rep:ip:192.0.2.7");
  auto net = stored("rep:net:192.0.2.0/24");
  ASSERT_TRUE(ip && net);
  EXPECT_EQ(ip->reject, 1);
  EXPECT_EQ(net->reject, 1);
  EXPECT_EQ(fake_.items["rep:ip:192.0.2.7"].expires_ms, kStart + 8 * kWeekMs);
  now_ms_ += kWeekMs;
  learn("accept");
  ip = stored("rep:ip:192.0.2.7");
  ASSERT_TRUE(ip);
  EXPECT_DOUBLE_EQ(ip->reject, 0.5);
  EXPECT_DOUBLE_EQ(ip->accept, 1);
  EXPECT_EQ(ip->updated_ms, now_ms_);
  learn("tag");
  learn("tempfail");
  EXPECT_DOUBLE_EQ(stored("rep:net:192.0.2.0/24")->tag, 1);
  EXPECT_DOUBLE_EQ(stored("rep:net:192.0.2.0/24")->tempfail, 1);
}

TEST_F(ReputationTest, BurstOfDecisionsIsCountedWhole) {
  for (int i = 0; i < 5; ++i)
    learnFromDecision(fake_, config_, {"192.0.2.7", "reject", "", ""}, clock());
  learnFromDecision(fake_, config_, {"192.0.2.8", "accept", "", ""}, clock());
  test::runFor(base_, 50ms);
  EXPECT_EQ(stored("rep:ip:192.0.2.7")->reject, 5);
  EXPECT_EQ(stored("rep:net:192.0.2.0/24")->reject, 5);
  EXPECT_EQ(stored("rep:net:192.0.2.0/24")->accept, 1);
  EXPECT_EQ(fake_.requests, 3 * 2 + 2 * 2);  // a round for the first, one for the rest
}

TEST_F(ReputationTest, SomeDecisionsAreNotLearned) {
  learn("none");
  learn("disconnect");
  learn("tempfail", "greylist: GREYLIST_DEFER");
  EXPECT_EQ(fake_.requests, 0);
  config_.reputation.enabled = false;
  learn("reject");
  EXPECT_EQ(fake_.requests, 0);
  config_.reputation.enabled = true;
  learn("accept", "greylist: GREYLIST_DEFER");  // a later recipient went through
  ASSERT_TRUE(stored("rep:ip:192.0.2.7"));
  EXPECT_EQ(stored("rep:ip:192.0.2.7")->accept, 1);
}

TEST_F(ReputationTest, SpfPassOfAnAcceptedMessageIsRemembered) {
  learn("reject", "", "bad.example");
  EXPECT_FALSE(fake_.find("spfok:bad.example"));
  learn("accept", "", "Good.Example");
  ASSERT_TRUE(fake_.find("spfok:good.example"));
  EXPECT_EQ(fake_.items["spfok:good.example"].expires_ms, kStart + int64_t{35} * 24 * 3600 * 1000);
}

TEST_F(ReputationTest, LearningInFlightWhenTheLoopStopsIsDroppedSafely) {
  // The fixture frees the loop with the store's answers still queued (under ASan: no report).
  // Addresses of their own: the fake store's address is reused by the next test.
  learnFromDecision(fake_, config_, {"198.51.100.9", "reject", "", ""}, clock());
  EXPECT_EQ(fake_.requests, 2);
}

TEST_F(ReputationTest, CheckReadsWhatWasLearned) {
  EXPECT_TRUE(connect()->symbols.empty());  // nothing known
  for (int i = 0; i < 3; ++i)
    learn("reject");
  auto result = connect();
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->opinion);
  ASSERT_EQ(result->symbols.size(), 2u);
  EXPECT_EQ(result->symbols[0].name, "REPUTATION_BAD");
  EXPECT_EQ(result->symbols[0].score, 4);
  EXPECT_EQ(result->symbols[1].name, "REPUTATION_NET_BAD");
  EXPECT_EQ(result->symbols[1].score, 2);
  auto neighbour = connect("192.0.2.8");  // same /24, no history of its own
  ASSERT_EQ(neighbour->symbols.size(), 1u);
  EXPECT_EQ(neighbour->symbols[0].name, "REPUTATION_NET_BAD");
  now_ms_ += 2 * kWeekMs;  // 0.75 decisions left: below min_decisions
  EXPECT_TRUE(connect()->symbols.empty());
}

TEST_F(ReputationTest, AllowlistedClientsAreNotLookedUp) {
  facts_.allowlisted = true;
  EXPECT_TRUE(connect()->symbols.empty());
  EXPECT_EQ(fake_.requests, 0);
}

TEST_F(ReputationTest, StoreErrorFailsOpen) {
  fake_.failure = "redis timeout";
  auto result = connect();
  ASSERT_EQ(result->symbols.size(), 1u);
  EXPECT_EQ(result->symbols[0].name, "REPUTATION_STORE_ERROR");
  EXPECT_EQ(result->symbols[0].score, 0);
  EXPECT_EQ(result->symbols[0].detail, "redis timeout");
  EXPECT_FALSE(result->opinion);
}

TEST_F(ReputationTest, RunsAtConnectOnly) {
  ReputationCheck check(config_.reputation);
  EXPECT_TRUE(check.runsAt(Stage::Connect));
  EXPECT_FALSE(check.runsAt(Stage::Rcpt));
  config_.reputation.enabled = false;
  EXPECT_FALSE(ReputationCheck(config_.reputation).runsAt(Stage::Connect));
}

// On a real Redis: what is learned is read back by the check, and a store destroyed with a
// learning in flight (its callbacks dropped) frees nothing twice.
TEST_F(ReputationTest, WorksOnRealRedis) {
  if (!store::test::redisServerInstalled()) GTEST_SKIP() << "redis-server is not installed";
  store::test::RedisServer redis;
  ASSERT_TRUE(redis.start());
  store::RedisStore::Options options;
  options.port = redis.port();
  auto store = store::RedisStore::create(base_, options);
  ASSERT_TRUE(test::runUntil(
      base_, [&] { return store->connected(); }, 5000ms));
  for (int i = 0; i < 3; ++i)
    learnFromDecision(*store, config_, {"192.0.2.7", "reject", "", ""}, clock());
  std::optional<store::ValueResult> got;
  auto read = [&] {
    got.reset();
    auto request = store->get("rep:ip:192.0.2.7", [&](store::ValueResult r) { got = r; });
    test::runUntil(base_, [&] { return got.has_value(); });
    return got && got->value ? reputation::decode(*got->value) : std::nullopt;
  };
  ASSERT_TRUE(test::runUntil(base_, [&] {
    auto record = read();
    return record && record->reject == 3;
  }));
  ReputationCheck check(config_.reputation, clock());
  pipeline::Context context;
  context.client_ip = "192.0.2.7";
  context.state = store.get();
  std::optional<CheckResult> result;
  auto pending = check.start(Stage::Connect, context, [&](CheckResult r) { result = r; });
  ASSERT_TRUE(test::runUntil(base_, [&] { return result.has_value(); }));
  ASSERT_FALSE(result->symbols.empty());
  EXPECT_EQ(result->symbols[0].name, "REPUTATION_BAD");
  learnFromDecision(*store, config_, {"203.0.113.7", "accept", "", ""}, clock());
  store.reset();  // with the learning's requests in flight
}

}  // namespace
}  // namespace spamgate::checks
