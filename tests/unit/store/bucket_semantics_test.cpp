// The token bucket of rate_store.h, the same cases on every store with a settable clock:
// MemoryRateStore (steady clock) and LmdbDatabase (system clock, a file). Redis runs the
// same arithmetic in Lua on its own clock: redis_store_test checks it in real time.
#include <gtest/gtest.h>

#include "store/lmdb_database.h"
#include "store/rate_store.h"
#include "store_test_support.h"

namespace spamgate::store {
namespace {

using std::chrono::milliseconds;

class MemoryBuckets {
 public:
  MemoryBuckets() {
    MemoryRateStore::Options options;
    options.clock = [this] {
      return std::chrono::steady_clock::time_point(std::chrono::milliseconds(millis_.load()));
    };
    store_ = std::make_unique<MemoryRateStore>(options);
  }
  RateDecision take(const std::string& key, Bucket bucket, double cost) {
    return store_->takeNow(key, bucket, cost);
  }
  void advance(milliseconds by) { millis_ += by.count(); }

 private:
  std::atomic<int64_t> millis_{1'000'000'000};
  std::unique_ptr<MemoryRateStore> store_;
};

class LmdbBuckets {
 public:
  LmdbBuckets() {
    LmdbDatabase::Options options;
    options.path = (dir_.path() / "buckets.mdb").string();
    options.map_size = 16u << 20;
    options.clock = [this] { return clock_.now(); };
    database_ = LmdbDatabase::open(options, nullptr);
  }
  RateDecision take(const std::string& key, Bucket bucket, double cost) {
    return database_->take(key, bucket, cost);
  }
  void advance(milliseconds by) { clock_.advance(by); }

 private:
  test::TempDir dir_;
  test::FakeSystemClock clock_;
  std::unique_ptr<LmdbDatabase> database_;
};

template <typename Buckets>
class BucketSemantics : public ::testing::Test {
 protected:
  Buckets buckets_;
};

using Stores = ::testing::Types<MemoryBuckets, LmdbBuckets>;
TYPED_TEST_SUITE(BucketSemantics, Stores);

constexpr Bucket kSixtyPerMinute{60, 5};  // one token a second, five at most

TYPED_TEST(BucketSemantics, NewKeyStartsFullAndBurstIsTheLimit) {
  for (int i = 4; i >= 0; --i) {
    const auto decision = this->buckets_.take("k", kSixtyPerMinute, 1);
    EXPECT_TRUE(decision.allowed);
    EXPECT_DOUBLE_EQ(decision.remaining, i);
    EXPECT_EQ(decision.retry_after, milliseconds(0));
    EXPECT_TRUE(decision.error.empty()) << decision.error;
  }
  const auto refused = this->buckets_.take("k", kSixtyPerMinute, 1);
  EXPECT_FALSE(refused.allowed);
  EXPECT_DOUBLE_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after, milliseconds(1000));
}

TYPED_TEST(BucketSemantics, RefillsContinuouslyUpToBurst) {
  this->buckets_.take("k", kSixtyPerMinute, 5);
  this->buckets_.advance(milliseconds(500));
  const auto early = this->buckets_.take("k", kSixtyPerMinute, 1);
  EXPECT_FALSE(early.allowed);
  EXPECT_DOUBLE_EQ(early.remaining, 0.5);
  EXPECT_EQ(early.retry_after, milliseconds(500));
  this->buckets_.advance(milliseconds(500));
  EXPECT_TRUE(this->buckets_.take("k", kSixtyPerMinute, 1).allowed);
  this->buckets_.advance(milliseconds(600'000));
  EXPECT_DOUBLE_EQ(this->buckets_.take("k", kSixtyPerMinute, 1).remaining, 4);
}

TYPED_TEST(BucketSemantics, RefusedTakesRemoveNothing) {
  const Bucket bucket{60, 10};
  EXPECT_DOUBLE_EQ(this->buckets_.take("k", bucket, 4).remaining, 6);
  EXPECT_DOUBLE_EQ(this->buckets_.take("k", bucket, 4).remaining, 2);
  const auto refused = this->buckets_.take("k", bucket, 4);
  EXPECT_FALSE(refused.allowed);
  EXPECT_DOUBLE_EQ(refused.remaining, 2);
  EXPECT_EQ(refused.retry_after, milliseconds(2000));
  EXPECT_TRUE(this->buckets_.take("k", bucket, 2).allowed);
}

TYPED_TEST(BucketSemantics, NeverMeansNever) {
  const auto too_big = this->buckets_.take("k", kSixtyPerMinute, 6);
  EXPECT_FALSE(too_big.allowed);
  EXPECT_DOUBLE_EQ(too_big.remaining, 5);
  EXPECT_EQ(too_big.retry_after, milliseconds::max());
  EXPECT_TRUE(this->buckets_.take("n", Bucket{0, 1}, 1).allowed);
  this->buckets_.advance(milliseconds(3'600'000));
  EXPECT_EQ(this->buckets_.take("n", Bucket{0, 1}, 1).retry_after, milliseconds::max());
}

TYPED_TEST(BucketSemantics, RetryAfterIsAPromiseAtOddRates) {
  for (const double per_minute : {7.0, 13.0, 300.0, 0.5}) {
    const Bucket bucket{per_minute, 3};
    const std::string key = "k" + std::to_string(per_minute);
    for (int round = 0; round < 20; ++round) {
      auto decision = this->buckets_.take(key, bucket, 1);
      while (decision.allowed)
        decision = this->buckets_.take(key, bucket, 1);
      ASSERT_GT(decision.retry_after, milliseconds(0));
      this->buckets_.advance(decision.retry_after);
      ASSERT_TRUE(this->buckets_.take(key, bucket, 1).allowed) << per_minute << "/min " << round;
    }
  }
}

TYPED_TEST(BucketSemantics, KeysAreIndependent) {
  this->buckets_.take("a", kSixtyPerMinute, 5);
  EXPECT_FALSE(this->buckets_.take("a", kSixtyPerMinute, 1).allowed);
  EXPECT_DOUBLE_EQ(this->buckets_.take("b", kSixtyPerMinute, 1).remaining, 4);
}

}  // namespace
}  // namespace spamgate::store
