// Decision ids: 16 characters of Crockford base32, unique, and sortable by time: the first ten
// characters are the Unix time in milliseconds.
#include "base/decision_id.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

namespace spamgate::base {
namespace {

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t decode(std::string_view digits) {
  uint64_t value = 0;
  for (char c : digits) {
    const auto at = kCrockford.find(c);
    EXPECT_NE(at, std::string_view::npos) << c;
    value = value * 32 + at;
  }
  return value;
}

TEST(DecisionIdTest, SixteenCrockfordCharacters) {
  for (int i = 0; i < 1000; ++i) {
    const auto id = newDecisionId();
    ASSERT_EQ(id.size(), 16u) << id;
    for (char c : id)
      ASSERT_NE(kCrockford.find(c), std::string_view::npos) << id;
  }
}

TEST(DecisionIdTest, AlphabetIsCrockfordAndSortsInAscii) {
  EXPECT_TRUE(std::is_sorted(kCrockford.begin(), kCrockford.end()));
  for (char c : std::string_view("ILOU"))
    EXPECT_EQ(kCrockford.find(c), std::string_view::npos);
}

TEST(DecisionIdTest, TimePrefixIsTheCurrentMillisecond) {
  const auto before = nowMs();
  const auto id = newDecisionId();
  const auto after = nowMs();
  const auto ms = static_cast<int64_t>(decode(std::string_view(id).substr(0, 10)));
  EXPECT_GE(ms, before);
  EXPECT_LE(ms, after);
}

TEST(DecisionIdTest, UniqueOver100k) {
  std::unordered_set<std::string> seen;
  for (int i = 0; i < 100000; ++i)
    ASSERT_TRUE(seen.insert(newDecisionId()).second) << i;
}

TEST(DecisionIdTest, UniqueAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kEach = 25000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      auto& mine = ids[static_cast<std::size_t>(t)];
      for (int i = 0; i < kEach; ++i)
        mine.push_back(newDecisionId());
    });
  }
  for (auto& thread : threads)
    thread.join();
  std::unordered_set<std::string> all;
  for (const auto& list : ids)
    all.insert(list.begin(), list.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
}

TEST(DecisionIdTest, SortableByTimeAcrossMilliseconds) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(newDecisionId());
    const auto ms = nowMs();
    while (nowMs() < ms + 2)
      std::this_thread::yield();
  }
  for (std::size_t i = 1; i < ids.size(); ++i) {
    EXPECT_LT(ids[i - 1], ids[i]);
    EXPECT_LT(ids[i - 1].substr(0, 10), ids[i].substr(0, 10));
  }
}

TEST(DecisionIdTest, CounterAdvancesWithinAMillisecond) {
  // Ids made back to back differ in their counter part even when the time part is equal.
  std::set<std::string> tails;
  for (int i = 0; i < 1000; ++i)
    tails.insert(newDecisionId().substr(10));
  EXPECT_EQ(tails.size(), 1000u);
}

}  // namespace
}  // namespace spamgate::base
