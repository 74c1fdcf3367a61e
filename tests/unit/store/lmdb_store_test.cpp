// LmdbStore and LmdbDatabase: counters, records and their expiry on a fake system clock,
// answers always on the loop (never inline) and cancellable, persistence across a close and a
// reopen, a full map reported as an error, the sweep of expired records, and exact totals from
// two threads with a loop each sharing one database.
#include "store/lmdb_store.h"

#include <gtest/gtest.h>

#include <thread>

#include "store_test_support.h"

namespace spamgate::store {
namespace {

using std::chrono::milliseconds;
using test::await;

class LmdbStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open(std::size_t map_size = 16u << 20) {
    LmdbDatabase::Options options;
    options.path = (dir_.path() / "state.mdb").string();
    options.map_size = map_size;
    options.clock = [this] { return clock_.now(); };
    std::string error;
    database_ = LmdbDatabase::open(options, &error);
    ASSERT_NE(database_, nullptr) << error;
    store_ = std::make_unique<LmdbStore>(loop_.base, database_);
  }
  void close() {
    store_.reset();
    database_.reset();
  }

  CountResult increment(const std::string& key, int64_t delta, milliseconds ttl) {
    return test::incrementNow(loop_.base, *store_, key, delta, ttl);
  }
  ValueResult get(const std::string& key) { return test::getNow(loop_.base, *store_, key); }
  WriteResult put(const std::string& key, const std::string& value, milliseconds ttl) {
    return test::putNow(loop_.base, *store_, key, value, ttl);
  }

  test::TempDir dir_;
  test::FakeSystemClock clock_;
  test::Loop loop_;
  std::shared_ptr<LmdbDatabase> database_;
  std::unique_ptr<LmdbStore> store_;
};

TEST_F(LmdbStoreTest, CounterStartsAtZeroAndItsTtlIsNotExtended) {
  EXPECT_EQ(increment("c", 3, milliseconds(1000)).value, 3);
  clock_.advance(milliseconds(900));
  EXPECT_EQ(increment("c", 2, milliseconds(1000)).value, 5);
  EXPECT_EQ(get("c").value, "5") << "counters read as decimal text, as in Redis";
  clock_.advance(milliseconds(100));
  EXPECT_EQ(increment("c", 2, milliseconds(1000)).value, 2) << "expired at 1000 ms: new counter";
  EXPECT_EQ(increment("c", -5, milliseconds(1000)).value, -3);
}

TEST_F(LmdbStoreTest, PutGetEraseAndExpiry) {
  EXPECT_FALSE(get("k").value.has_value());
  EXPECT_TRUE(put("k", std::string("v\0w", 3), milliseconds(1000)).error.empty());
  EXPECT_EQ(get("k").value, std::string("v\0w", 3));
  EXPECT_TRUE(put("k", "newer", milliseconds(1000)).error.empty());
  clock_.advance(milliseconds(999));
  EXPECT_EQ(get("k").value, "newer");
  clock_.advance(milliseconds(1));
  EXPECT_FALSE(get("k").value.has_value()) << "expired";
  put("k", "again", milliseconds(1000));
  EXPECT_EQ(test::eraseNow(loop_.base, *store_, "k").error, "");
  EXPECT_FALSE(get("k").value.has_value());
  EXPECT_EQ(test::eraseNow(loop_.base, *store_, "k").error, "") << "erasing nothing is no error";
}

TEST_F(LmdbStoreTest, AnswersOnTheLoopNeverInlineAndCancels) {
  int calls = 0;
  auto pending = store_->increment("c", 1, milliseconds(1000), [&](CountResult) { ++calls; });
  EXPECT_EQ(calls, 0) << "not inline";
  auto cancelled = store_->get("c", [&](ValueResult) { calls += 100; });
  cancelled.reset();
  spamgate::test::runUntil(loop_.base, [&] { return calls > 0; });
  spamgate::test::runFor(loop_.base, milliseconds(30));
  EXPECT_EQ(calls, 1) << "the cancelled get never called back";
  EXPECT_EQ(get("c").value, "1") << "the write of a request happened all the same";
}

TEST_F(LmdbStoreTest, CallbackMayDestroyItsHandleAndStartAnother) {
  std::unique_ptr<PendingRequest> first;
  std::unique_ptr<PendingRequest> second;
  std::optional<int64_t> value;
  first = store_->increment("c", 1, milliseconds(1000), [&](CountResult) {
    first.reset();
    second = store_->increment("c", 1, milliseconds(1000),
                               [&](CountResult result) { value = result.value; });
  });
  ASSERT_TRUE(spamgate::test::runUntil(loop_.base, [&] { return value.has_value(); }));
  EXPECT_EQ(*value, 2);
}

TEST_F(LmdbStoreTest, SurvivesCloseAndReopen) {
  put("greylist:pass:x", "record", milliseconds(3'600'000));
  increment("c", 7, milliseconds(3'600'000));
  put("short", "gone after the restart", milliseconds(1000));
  close();
  clock_.advance(milliseconds(2000));
  open();
  EXPECT_EQ(get("greylist:pass:x").value, "record");
  EXPECT_EQ(increment("c", 1, milliseconds(1000)).value, 8);
  EXPECT_FALSE(get("short").value.has_value());
}

TEST_F(LmdbStoreTest, FullMapIsAnErrorNotACrash) {
  close();
  open(64u * 4096u);
  const std::string big(2000, 'x');
  std::string error;
  int written = 0;
  for (; written < 1000 && error.empty(); ++written)
    error = put("k" + std::to_string(written), big, milliseconds(60'000)).error;
  EXPECT_NE(error.find("MDB_MAP_FULL"), std::string::npos) << error;
  EXPECT_GT(written, 10);
  EXPECT_EQ(get("k0").value, big) << "what was written before stays";
  EXPECT_EQ(test::eraseNow(loop_.base, *store_, "k0").error, "") << "erasing still works";
}

TEST_F(LmdbStoreTest, SweepRemovesExpiredRecordsInSteps) {
  for (int i = 0; i < 100; ++i)
    put("short" + std::to_string(i), "x", milliseconds(1000));
  for (int i = 0; i < 10; ++i)
    put("long" + std::to_string(i), "x", milliseconds(3'600'000));
  EXPECT_EQ(database_->sweep(1000).removed, 0u) << "nothing expired yet";
  clock_.advance(milliseconds(1000));
  std::size_t removed = 0;
  for (int step = 0; step < 4; ++step) {
    const auto result = database_->sweep(30);
    EXPECT_TRUE(result.error.empty()) << result.error;
    EXPECT_LE(result.scanned, 30u);
    removed += result.removed;
  }
  EXPECT_EQ(removed, 100u) << "four steps of 30 cover all 110 records";
  const auto rest = database_->sweep(1000);
  EXPECT_EQ(rest.scanned, 10u);
  EXPECT_EQ(rest.removed, 0u);
  EXPECT_EQ(get("long3").value, "x");
}

TEST_F(LmdbStoreTest, SyncSucceeds) {
  put("k", "v", milliseconds(1000));
  EXPECT_EQ(database_->sync(), "");
}

// Two threads, a loop and an LmdbStore each, one database: every increment and every take
// counted exactly once (the clock stands still, so exactly `burst` takes pass).
TEST_F(LmdbStoreTest, TwoThreadsShareOneDatabaseExactly) {
  constexpr int kEach = 2000;
  std::atomic<int> allowed{0};
  auto worker = [&] {
    test::Loop loop;
    LmdbStore store(loop.base, database_);
    int answered = 0;
    std::vector<std::unique_ptr<PendingRequest>> counts;
    std::vector<std::unique_ptr<PendingTake>> takes;
    for (int i = 0; i < kEach; ++i) {
      counts.push_back(
          store.increment("shared", 1, milliseconds(60'000), [&](CountResult) { ++answered; }));
      takes.push_back(store.take("bucket", Bucket{60, 1500}, 1, [&](RateDecision decision) {
        ++answered;
        if (decision.allowed) ++allowed;
      }));
    }
    spamgate::test::runUntil(loop.base, [&] { return answered == 2 * kEach; });
  };
  std::thread a(worker);
  std::thread b(worker);
  a.join();
  b.join();
  EXPECT_EQ(increment("shared", 0, milliseconds(1000)).value, 2 * kEach);
  EXPECT_EQ(allowed.load(), 1500);
}

TEST_F(LmdbStoreTest, OpenFailsWithAReason) {
  LmdbDatabase::Options options;
  options.path = (dir_.path() / "no" / "such" / "dir" / "state.mdb").string();
  std::string error;
  EXPECT_EQ(LmdbDatabase::open(options, &error), nullptr);
  EXPECT_NE(error.find("state.mdb"), std::string::npos) << error;
}

}  // namespace
}  // namespace spamgate::store
