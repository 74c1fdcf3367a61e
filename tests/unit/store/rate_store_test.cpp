// MemoryRateStore: token bucket arithmetic on a fake clock (burst, refill, retry_after, cost
// above one), the key layout, both memory bounds (sweep of full buckets, hard cap with LRU
// eviction) and exact totals under four threads hammering shared and separate keys.
#include "store/rate_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace spamgate::store {
namespace {

using std::chrono::milliseconds;
using Time = std::chrono::steady_clock::time_point;

// A clock that moves only when told; safe to read from several threads.
class FakeClock {
 public:
  MemoryRateStore::Clock clock() {
    return [this] { return Time(std::chrono::nanoseconds(nanos_.load())); };
  }
  void advance(milliseconds by) { nanos_ += std::chrono::nanoseconds(by).count(); }

 private:
  std::atomic<int64_t> nanos_{1'000'000'000'000};
};

MemoryRateStore::Options options(FakeClock& clock, std::size_t max_entries = 1000,
                                 std::size_t shards = 1) {
  MemoryRateStore::Options result;
  result.max_entries = max_entries;
  result.shards = shards;
  result.clock = clock.clock();
  return result;
}

constexpr Bucket kSixtyPerMinute{60, 5};  // one token a second, five at most

TEST(RateStoreKeys, Layout) {
  EXPECT_EQ(rate_keys::connections("192.0.2.1"), "rate:conn:192.0.2.1");
  EXPECT_EQ(rate_keys::messages("2001:db8::1"), "rate:msg:2001:db8::1");
  EXPECT_EQ(rate_keys::recipients("192.0.2.1"), "rate:rcpt:192.0.2.1");
}

TEST(RateStoreBucket, NewKeyStartsFullAndBurstIsTheLimit) {
  FakeClock clock;
  MemoryRateStore store(options(clock));
  for (int i = 4; i >= 0; --i) {
    const auto decision = store.takeNow("k", kSixtyPerMinute, 1);
    EXPECT_TRUE(decision.allowed);
    EXPECT_DOUBLE_EQ(decision.remaining, i);
    EXPECT_EQ(decision.retry_after, milliseconds(0));
    EXPECT_TRUE(decision.error.empty());
  }
  const auto refused = store.takeNow("k", kSixtyPerMinute, 1);
  EXPECT_FALSE(refused.allowed);
  EXPECT_DOUBLE_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after, milliseconds(1000));
}

TEST(RateStoreBucket, RefillsContinuously) {
  FakeClock clock;
  MemoryRateStore store(options(clock));
  for (int i = 0; i < 5; ++i)
    store.takeNow("k", kSixtyPerMinute, 1);
  clock.advance(milliseconds(500));
  const auto early = store.takeNow("k", kSixtyPerMinute, 1);
  EXPECT_FALSE(early.allowed);
  EXPECT_DOUBLE_EQ(early.remaining, 0.5);
  EXPECT_EQ(early.retry_after, milliseconds(500));
  clock.advance(milliseconds(500));
  const auto on_time = store.takeNow("k", kSixtyPerMinute, 1);
  EXPECT_TRUE(on_time.allowed);
  EXPECT_DOUBLE_EQ(on_time.remaining, 0);
}

TEST(RateStoreBucket, RefillStopsAtBurst) {
  FakeClock clock;
  MemoryRateStore store(options(clock));
  store.takeNow("k", kSixtyPerMinute, 5);
  clock.advance(milliseconds(600'000));
  EXPECT_DOUBLE_EQ(store.takeNow("k", kSixtyPerMinute, 1).remaining, 4);
}

TEST(RateStoreBucket, CostAboveOne) {
  FakeClock clock;
  MemoryRateStore store(options(clock));
  const Bucket bucket{60, 10};
  EXPECT_DOUBLE_EQ(store.takeNow("k", bucket, 4).remaining, 6);
  EXPECT_DOUBLE_EQ(store.takeNow("k", bucket, 4).remaining, 2);
  const auto refused = store.takeNow("k", bucket, 4);
  EXPECT_FALSE(refused.allowed);
  EXPECT_DOUBLE_EQ(refused.remaining, 2) << "a refused take removes nothing";
  EXPECT_EQ(refused.retry_after, milliseconds(2000));
  EXPECT_TRUE(store.takeNow("k", bucket, 2).allowed) << "a smaller take still fits";
  clock.advance(milliseconds(4000));
  const auto later = store.takeNow("k", bucket, 4);
  EXPECT_TRUE(later.allowed);
  EXPECT_DOUBLE_EQ(later.remaining, 0);
}

TEST(RateStoreBucket, CostAboveBurstNeverPasses) {
  FakeClock clock;
  MemoryRateStore store(options(clock));
  const auto decision = store.takeNow("k", kSixtyPerMinute, 6);
  EXPECT_FALSE(decision.allowed);
  EXPECT_DOUBLE_EQ(decision.remaining, 5);
  EXPECT_EQ(decision.retry_after, milliseconds::max());
}

TEST(RateStoreBucket, NoRefillRateMeansNever) {
  FakeClock clock;
  MemoryRateStore store(options(clock));
  const Bucket bucket{0, 1};
  EXPECT_TRUE(store.takeNow("k", bucket, 1).allowed);
  clock.advance(milliseconds(3'600'000));
  const auto refused = store.takeNow("k", bucket, 1);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, milliseconds::max());
}

TEST(RateStoreBucket, RetryAfterIsAPromiseAtOddRates) {
  FakeClock clock;
  MemoryRateStore store(options(clock));
  for (const double per_minute : {7.0, 13.0, 300.0, 0.5}) {
    const Bucket bucket{per_minute, 3};
    const std::string key = "k" + std::to_string(per_minute);
    for (int round = 0; round < 20; ++round) {
      auto decision = store.takeNow(key, bucket, 1);
      while (decision.allowed)
        decision = store.takeNow(key, bucket, 1);
      ASSERT_GT(decision.retry_after, milliseconds(0));
      clock.advance(decision.retry_after);
      ASSERT_TRUE(store.takeNow(key, bucket, 1).allowed) << per_minute << "/min round " << round;
    }
  }
}

TEST(RateStoreBucket, KeysAreIndependent) {
  FakeClock clock;
  MemoryRateStore store(options(clock, 1000, 4));
  store.takeNow("a", kSixtyPerMinute, 5);
  EXPECT_FALSE(store.takeNow("a", kSixtyPerMinute, 1).allowed);
  EXPECT_DOUBLE_EQ(store.takeNow("b", kSixtyPerMinute, 1).remaining, 4);
}

TEST(RateStoreBucket, AsyncShapeAnswersInline) {
  FakeClock clock;
  MemoryRateStore store(options(clock));
  int calls = 0;
  auto pending = store.take("k", kSixtyPerMinute, 2, [&](RateDecision decision) {
    ++calls;
    EXPECT_TRUE(decision.allowed);
    EXPECT_DOUBLE_EQ(decision.remaining, 3);
  });
  EXPECT_EQ(pending, nullptr);
  EXPECT_EQ(calls, 1);
}

TEST(RateStoreBucket, CallbackMayCallTheStoreAgain) {
  FakeClock clock;
  MemoryRateStore store(options(clock));
  bool inner = false;
  store.take("k", kSixtyPerMinute, 1, [&](RateDecision) {
    store.take("k", kSixtyPerMinute, 1, [&](RateDecision decision) {
      inner = true;
      EXPECT_DOUBLE_EQ(decision.remaining, 3);
    });
  });
  EXPECT_TRUE(inner);
}

TEST(RateStoreMemory, SweepDropsBucketsThatAreFullAgain) {
  FakeClock clock;
  MemoryRateStore store(options(clock));
  for (int i = 0; i < 100; ++i)
    store.takeNow("idle" + std::to_string(i), kSixtyPerMinute, 1);
  store.takeNow("slow", Bucket{1, 5}, 5);  // needs five minutes to fill
  EXPECT_EQ(store.size(), 101u);
  clock.advance(milliseconds(1000));  // the hundred are full again, "slow" is not
  for (int i = 0; i < 200; ++i)
    store.takeNow("busy", Bucket{1e6, 1e6}, 1);
  EXPECT_EQ(store.size(), 2u) << "only busy and slow remain";
  // Dropping a full bucket changed nothing; "slow" kept its state.
  EXPECT_DOUBLE_EQ(store.takeNow("idle7", kSixtyPerMinute, 1).remaining, 4);
  EXPECT_FALSE(store.takeNow("slow", Bucket{1, 5}, 1).allowed);
}

TEST(RateStoreMemory, HardCapDropsTheLeastRecentlyUsed) {
  FakeClock clock;
  MemoryRateStore store(options(clock, 10));
  const Bucket slow{1, 5};  // never full again within this test
  store.takeNow("kept", slow, 5);
  for (int i = 0; i < 100; ++i) {
    store.takeNow("flood" + std::to_string(i), slow, 1);
    store.takeNow("kept", slow, 0);  // keeps it recently used
    EXPECT_LE(store.size(), 10u);
  }
  EXPECT_FALSE(store.takeNow("kept", slow, 1).allowed) << "the busy key was never dropped";
  EXPECT_DOUBLE_EQ(store.takeNow("flood0", slow, 1).remaining, 4) << "dropped: starts full";
}

TEST(RateStoreMemory, CapIsSharedOverShards) {
  FakeClock clock;
  MemoryRateStore store(options(clock, 100, 16));  // 7 per shard
  for (int i = 0; i < 5000; ++i)
    store.takeNow("key" + std::to_string(i), Bucket{1, 5}, 1);
  EXPECT_LE(store.size(), 16u * 7u);
  EXPECT_GE(store.size(), 16u * 6u);  // each shard filled up
}

// Four threads take from one shared key and from a key each, with the clock standing still:
// exactly `burst` takes pass per key, whatever the interleaving.
TEST(RateStoreThreads, TotalsAreExact) {
  FakeClock clock;
  MemoryRateStore store(options(clock, 100000, 4));
  constexpr int kThreads = 4;
  constexpr int kTries = 5000;
  std::atomic<int> shared_allowed{0};
  std::vector<int> own_allowed(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string own = "own" + std::to_string(t);
      for (int i = 0; i < kTries; ++i) {
        if (store.takeNow("shared", Bucket{60, 7000}, 1).allowed) ++shared_allowed;
        if (store.takeNow(own, Bucket{60, 1234}, 1).allowed)
          ++own_allowed[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(shared_allowed.load(), 7000);
  for (int allowed : own_allowed)
    EXPECT_EQ(allowed, 1234);
}

// Many keys over several shards, with sweeps running: still exact per key.
TEST(RateStoreThreads, ManyKeysWithSweeps) {
  FakeClock clock;
  MemoryRateStore store(options(clock, 100000, 8));
  constexpr int kThreads = 4;
  constexpr int kKeys = 50;
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kKeys * 20; ++i) {
        if (store.takeNow("k" + std::to_string(i % kKeys), Bucket{60, 40}, 1).allowed) ++allowed;
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(allowed.load(), kKeys * 40);
  EXPECT_EQ(store.size(), static_cast<std::size_t>(kKeys));
}

}  // namespace
}  // namespace spamgate::store
