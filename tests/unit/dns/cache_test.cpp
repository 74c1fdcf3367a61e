// The answer cache: TTLs, expiry, LRU eviction by entries and by bytes.
#include "dns/cache.h"

#include <gtest/gtest.h>

namespace spamgate::dns {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Result answer(std::vector<std::string> records, uint32_t ttl) {
  Result result;
  result.status = records.empty() ? Status::NxDomain : Status::Ok;
  result.records = std::move(records);
  result.ttl = ttl;
  return result;
}

TEST(DnsCache, HitReportsRemainingTtlRoundedUp) {
  Cache cache(10, 1 << 20);
  auto t0 = Cache::Clock::now();
  cache.store("1/a.test", answer({"127.0.0.2"}, 60), t0);
  auto hit = cache.find("1/a.test", t0 + milliseconds(20500));
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->records, std::vector<std::string>{"127.0.0.2"});
  EXPECT_EQ(hit->ttl, 40u);
  EXPECT_TRUE(hit->from_cache);
  EXPECT_FALSE(cache.find("28/a.test", t0));
}

TEST(DnsCache, ExpiresAtTtl) {
  Cache cache(10, 1 << 20);
  auto t0 = Cache::Clock::now();
  cache.store("1/a.test", answer({}, 1), t0);
  EXPECT_TRUE(cache.find("1/a.test", t0 + milliseconds(999)));
  EXPECT_FALSE(cache.find("1/a.test", t0 + seconds(1)));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DnsCache, ZeroTtlIsNotStoredAndReplaces) {
  Cache cache(10, 1 << 20);
  auto t0 = Cache::Clock::now();
  cache.store("1/a.test", answer({"127.0.0.2"}, 60), t0);
  cache.store("1/a.test", answer({"127.0.0.3"}, 0), t0);
  EXPECT_FALSE(cache.find("1/a.test", t0));
  cache.store("1/a.test", answer({"127.0.0.4"}, 5), t0);
  EXPECT_EQ(cache.find("1/a.test", t0)->records[0], "127.0.0.4");
  EXPECT_EQ(cache.size(), 1u);
}

TEST(DnsCache, EvictsLeastRecentlyUsedEntry) {
  Cache cache(3, 1 << 20);
  auto t0 = Cache::Clock::now();
  cache.store("a", answer({"1"}, 60), t0);
  cache.store("b", answer({"2"}, 60), t0);
  cache.store("c", answer({"3"}, 60), t0);
  EXPECT_TRUE(cache.find("a", t0));  // a is now the most recent; b the least
  cache.store("d", answer({"4"}, 60), t0);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.find("b", t0));
  EXPECT_TRUE(cache.find("a", t0));
  EXPECT_TRUE(cache.find("c", t0));
  EXPECT_TRUE(cache.find("d", t0));
}

TEST(DnsCache, StaysWithinItsByteBudget) {
  Cache cache(1000, 4096);
  auto t0 = Cache::Clock::now();
  for (int i = 0; i < 100; ++i) {
    cache.store("16/k" + std::to_string(i), answer({std::string(500, 'x')}, 60), t0);
    EXPECT_LE(cache.bytes(), 4096u);
  }
  EXPECT_GT(cache.size(), 0u);
  EXPECT_LT(cache.size(), 10u);
  EXPECT_TRUE(cache.find("16/k99", t0));
  cache.store("16/huge", answer({std::string(10000, 'x')}, 60), t0);  // over the budget alone
  EXPECT_FALSE(cache.find("16/huge", t0));
}

TEST(DnsCache, KeyHoldsTypeAndName) {
  EXPECT_EQ(cacheKey("a.test", Type::A), "1/a.test");
  EXPECT_EQ(cacheKey("a.test", Type::AAAA), "28/a.test");
}

}  // namespace
}  // namespace spamgate::dns
