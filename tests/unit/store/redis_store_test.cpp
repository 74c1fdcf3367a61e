// RedisStore against a real redis-server on a free loopback port: counters, records, their
// TTLs (checked with PTTL) and expiry, the token bucket, two stores on two loops sharing state,
// answers never inline and cancellable, a paused Redis (request timeout), a killed Redis
// (fails fast) and a restarted one (the store reconnects by itself), AUTH and SELECT.
#include "store/redis_store.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "redis_server.h"
#include "store_test_support.h"

namespace spamgate::store {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using test::await;

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::redisServerInstalled())
      GTEST_SKIP() << "redis-server not installed (Debian redis-server)";
    ASSERT_TRUE(server_.start());
    store_ = makeStore(loop_.base);
  }

  std::unique_ptr<RedisStore> makeStore(event_base* base, RedisStore::Options options = {}) {
    options.port = server_.port();
    std::string error;
    auto store = RedisStore::create(base, options, &error);
    EXPECT_NE(store, nullptr) << error;
    EXPECT_TRUE(spamgate::test::runUntil(
        base, [&] { return store->connected(); }, milliseconds(3000)))
        << store->lastError();
    return store;
  }

  CountResult increment(const std::string& key, int64_t delta, milliseconds ttl) {
    return test::incrementNow(loop_.base, *store_, key, delta, ttl);
  }
  ValueResult get(const std::string& key) { return test::getNow(loop_.base, *store_, key); }
  WriteResult put(const std::string& key, const std::string& value, milliseconds ttl) {
    return test::putNow(loop_.base, *store_, key, value, ttl);
  }
  RateDecision take(const std::string& key, Bucket bucket, double cost) {
    auto result = await<RateDecision>(
        loop_.base, [&](auto done) { return store_->take(key, bucket, cost, done); });
    return result.value_or(RateDecision{false, 0, milliseconds(0), "no answer"});
  }
  // PTTL seen by a plain client: -2 no key, -1 no TTL.
  long long pttl(const std::string& key) {
    redisContext* context = redisConnect("127.0.0.1", server_.port());
    auto* reply = static_cast<redisReply*>(redisCommand(context, "PTTL %s", key.c_str()));
    const long long value = reply != nullptr ? reply->integer : -3;
    freeReplyObject(reply);
    redisFree(context);
    return value;
  }

  test::RedisServer server_;
  test::Loop loop_;
  std::unique_ptr<RedisStore> store_;
};

TEST_F(RedisStoreTest, CounterStartsAtZeroItsTtlIsSetOnceAndItExpires) {
  EXPECT_EQ(increment("c", 3, milliseconds(400)).value, 3);
  spamgate::test::runFor(loop_.base, milliseconds(200));
  EXPECT_EQ(increment("c", 2, milliseconds(400)).value, 5);
  EXPECT_LE(pttl("c"), 200) << "the second increment did not extend the TTL";
  EXPECT_GT(pttl("c"), 0);
  EXPECT_EQ(get("c").value, "5");
  spamgate::test::runFor(loop_.base, milliseconds(250));
  EXPECT_EQ(increment("c", -2, milliseconds(400)).value, -2) << "expired: a new counter";
}

TEST_F(RedisStoreTest, PutGetEraseAndExpiry) {
  EXPECT_FALSE(get("k").value.has_value());
  EXPECT_TRUE(get("k").error.empty());
  EXPECT_TRUE(put("k", std::string("v\0w", 3), milliseconds(300)).error.empty());
  EXPECT_EQ(get("k").value, std::string("v\0w", 3));
  const long long ttl = pttl("k");
  EXPECT_GT(ttl, 200);
  EXPECT_LE(ttl, 300);
  spamgate::test::runFor(loop_.base, milliseconds(350));
  EXPECT_FALSE(get("k").value.has_value()) << "expired";
  put("k", "again", milliseconds(10'000));
  EXPECT_EQ(test::eraseNow(loop_.base, *store_, "k").error, "");
  EXPECT_FALSE(get("k").value.has_value());
  EXPECT_EQ(pttl("k"), -2);
}

TEST_F(RedisStoreTest, TokenBucketSemantics) {
  const Bucket bucket{60, 5};  // one token a second
  for (int i = 4; i >= 0; --i) {
    const auto decision = take("rate:conn:192.0.2.1", bucket, 1);
    ASSERT_TRUE(decision.error.empty()) << decision.error;
    EXPECT_TRUE(decision.allowed);
    EXPECT_NEAR(decision.remaining, i, 0.05);
  }
  const auto refused = take("rate:conn:192.0.2.1", bucket, 1);
  EXPECT_FALSE(refused.allowed);
  EXPECT_GT(refused.retry_after, milliseconds(900));
  EXPECT_LE(refused.retry_after, milliseconds(1000));
  const long long ttl = pttl("rate:conn:192.0.2.1");
  EXPECT_GT(ttl, 4000) << "the time to be full again: about five seconds";
  EXPECT_LE(ttl, 5000);
  spamgate::test::runFor(loop_.base, milliseconds(refused.retry_after.count() + 20));
  EXPECT_TRUE(take("rate:conn:192.0.2.1", bucket, 1).allowed) << "retry_after was a promise";

  const auto too_big = take("b", bucket, 6);
  EXPECT_FALSE(too_big.allowed);
  EXPECT_EQ(too_big.retry_after, milliseconds::max());
  EXPECT_DOUBLE_EQ(too_big.remaining, 5);
  EXPECT_EQ(pttl("b"), -2) << "a full bucket is no key";
  EXPECT_TRUE(take("n", Bucket{0, 1}, 1).allowed);
  const auto never = take("n", Bucket{0, 1}, 1);
  EXPECT_FALSE(never.allowed);
  EXPECT_EQ(never.retry_after, milliseconds::max());
  EXPECT_GT(pttl("n"), 0) << "even a bucket that never refills has a TTL";
}

TEST_F(RedisStoreTest, TwoStoresOnTwoLoopsShareState) {
  test::Loop other_loop;
  auto other = makeStore(other_loop.base);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(increment("shared", 1, milliseconds(10'000)).value, 1);
  auto second = await<CountResult>(other_loop.base, [&](auto done) {
    return other->increment("shared", 1, milliseconds(10'000), done);
  });
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->value, 2);
  EXPECT_TRUE(take("bucket", Bucket{1, 2}, 1).allowed);
  auto from_other = await<RateDecision>(other_loop.base, [&](auto done) {
    return other->take("bucket", Bucket{1, 2}, 1, done);
  });
  ASSERT_TRUE(from_other.has_value());
  EXPECT_TRUE(from_other->allowed);
  EXPECT_FALSE(take("bucket", Bucket{1, 2}, 1).allowed) << "both gateways drew from one bucket";
}

TEST_F(RedisStoreTest, NeverInlineAndCancellable) {
  int calls = 0;
  auto pending = store_->increment("c", 1, milliseconds(10'000), [&](CountResult) { ++calls; });
  auto cancelled = store_->get("c", [&](ValueResult) { calls += 100; });
  EXPECT_EQ(calls, 0);
  cancelled.reset();
  spamgate::test::runUntil(loop_.base, [&] { return calls > 0; });
  spamgate::test::runFor(loop_.base, milliseconds(50));
  EXPECT_EQ(calls, 1);
}

TEST_F(RedisStoreTest, PausedRedisTimesOutAndTheLateReplyIsDropped) {
  server_.pause();
  const auto start = steady_clock::now();
  std::vector<ValueResult> answers;
  auto pending = store_->get("k", [&](ValueResult result) { answers.push_back(result); });
  spamgate::test::runUntil(loop_.base, [&] { return !answers.empty(); });
  const auto took = steady_clock::now() - start;
  server_.resume();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].error, "redis timeout");
  EXPECT_GE(took, milliseconds(240));
  EXPECT_LT(took, milliseconds(600));
  const auto after = put("k", "v", milliseconds(1000));
  EXPECT_TRUE(after.error.empty())
      << "the connection still works: " << after.error << " / " << store_->lastError();
  EXPECT_EQ(answers.size(), 1u) << "the late reply called nobody back";
}

TEST_F(RedisStoreTest, HandleMayOutliveTheStore) {
  int calls = 0;
  auto pending = store_->get("k", [&](ValueResult) { ++calls; });
  store_.reset();
  spamgate::test::runFor(loop_.base, milliseconds(50));
  pending.reset();
  EXPECT_EQ(calls, 0);
}

TEST_F(RedisStoreTest, KilledRedisFailsFastAndRestartedRedisIsReconnected) {
  ASSERT_TRUE(put("k", "v", milliseconds(10'000)).error.empty());
  server_.stop();
  auto start = steady_clock::now();
  const auto lost = get("k");
  EXPECT_TRUE(lost.error == "redis connection lost" || lost.error == "redis unavailable")
      << lost.error;
  EXPECT_LT(steady_clock::now() - start, milliseconds(250)) << "sooner than the request timeout";
  spamgate::test::runUntil(
      loop_.base, [&] { return !store_->connected(); }, milliseconds(500));
  start = steady_clock::now();
  EXPECT_EQ(get("k").error, "redis unavailable");
  EXPECT_EQ(take("b", Bucket{60, 5}, 1).error, "redis unavailable");
  EXPECT_LT(steady_clock::now() - start, milliseconds(100)) << "no waiting while Redis is down";

  spamgate::test::runFor(loop_.base, milliseconds(400));  // a few reconnect attempts fail
  ASSERT_TRUE(server_.start());
  EXPECT_TRUE(spamgate::test::runUntil(
      loop_.base, [&] { return store_->connected(); }, milliseconds(6000)));
  EXPECT_TRUE(put("k", "back", milliseconds(10'000)).error.empty());
  EXPECT_EQ(get("k").value, "back");
  EXPECT_EQ(increment("c", 1, milliseconds(10'000)).value, 1) << "the scripts were loaded again";
  EXPECT_TRUE(take("b", Bucket{60, 5}, 1).allowed);
}

TEST(RedisStoreConfig, HostMustBeAnAddress) {
  test::Loop loop;
  RedisStore::Options options;
  options.host = "redis.example";
  std::string error;
  EXPECT_EQ(RedisStore::create(loop.base, options, &error), nullptr);
  EXPECT_NE(error.find("redis.example"), std::string::npos) << error;
}

TEST(RedisStoreAuth, PasswordAndDatabase) {
  if (!test::redisServerInstalled()) GTEST_SKIP() << "redis-server not installed";
  test::RedisServer server({"--requirepass", "s3cret"});
  ASSERT_TRUE(server.start());
  test::Loop loop;
  RedisStore::Options options;
  options.port = server.port();
  options.password = "s3cret";
  options.db = 3;
  auto store = RedisStore::create(loop.base, options);
  ASSERT_TRUE(spamgate::test::runUntil(loop.base, [&] { return store->connected(); }));
  auto written = await<WriteResult>(
      loop.base, [&](auto done) { return store->put("k", "v", milliseconds(10'000), done); });
  ASSERT_TRUE(written && written->error.empty()) << (written ? written->error : "no answer");
  redisContext* context = redisConnect("127.0.0.1", server.port());
  freeReplyObject(redisCommand(context, "AUTH s3cret"));
  auto* in_zero = static_cast<redisReply*>(redisCommand(context, "EXISTS k"));
  EXPECT_EQ(in_zero->integer, 0);
  freeReplyObject(in_zero);
  freeReplyObject(redisCommand(context, "SELECT 3"));
  auto* in_three = static_cast<redisReply*>(redisCommand(context, "GET k"));
  EXPECT_EQ(std::string(in_three->str, in_three->len), "v");
  freeReplyObject(in_three);
  redisFree(context);

  options.password = "wrong";
  auto refused = RedisStore::create(loop.base, options);
  spamgate::test::runFor(loop.base, milliseconds(100));
  auto answer = await<ValueResult>(loop.base, [&](auto done) { return refused->get("k", done); });
  ASSERT_TRUE(answer.has_value());
  EXPECT_FALSE(answer->error.empty()) << "a wrong password never reads";
  EXPECT_FALSE(refused->lastError().empty());
}

}  // namespace
}  // namespace spamgate::store
