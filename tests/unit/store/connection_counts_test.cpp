// ConnectionCounts: a ticket counts one connection, in total and for its address, for as long
// as it lives; counts stay right under concurrent admits and releases.
#include "store/connection_counts.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace spamgate::store {
namespace {

TEST(ConnectionCountsTest, EmptyCountsAreZero) {
  ConnectionCounts counts;
  const auto now = counts.current("192.0.2.1");
  EXPECT_EQ(now.total, 0u);
  EXPECT_EQ(now.from_ip, 0u);
}

TEST(ConnectionCountsTest, TicketsCountWhileTheyLive) {
  ConnectionCounts counts;
  auto a1 = counts.admit("192.0.2.1");
  auto a2 = counts.admit("192.0.2.1");
  auto b1 = counts.admit("2001:db8::1");
  EXPECT_EQ(counts.current("192.0.2.1").total, 3u);
  EXPECT_EQ(counts.current("192.0.2.1").from_ip, 2u);
  EXPECT_EQ(counts.current("2001:db8::1").from_ip, 1u);
  EXPECT_EQ(counts.current("198.51.100.1").from_ip, 0u);
  EXPECT_EQ(counts.current("198.51.100.1").total, 3u);

  a1.reset();
  EXPECT_EQ(counts.current("192.0.2.1").total, 2u);
  EXPECT_EQ(counts.current("192.0.2.1").from_ip, 1u);
  a2.reset();
  EXPECT_EQ(counts.current("192.0.2.1").from_ip, 0u);
  b1.reset();
  EXPECT_EQ(counts.current("2001:db8::1").total, 0u);
  // Readmitting after the address dropped to zero starts from one again.
  auto again = counts.admit("192.0.2.1");
  EXPECT_EQ(counts.current("192.0.2.1").from_ip, 1u);
}

TEST(ConnectionCountsTest, ConcurrentAdmitAndRelease) {
  ConnectionCounts counts;
  auto held = counts.admit("192.0.2.9");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&counts, t] {
      const std::string ip = "192.0.2." + std::to_string(t % 2);
      for (int i = 0; i < 2000; ++i) {
        auto a = counts.admit(ip);
        auto b = counts.admit(ip);
        const auto now = counts.current(ip);
        EXPECT_GE(now.from_ip, 2u);
        EXPECT_GE(now.total, 3u);
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(counts.current("192.0.2.0").from_ip, 0u);
  EXPECT_EQ(counts.current("192.0.2.1").from_ip, 0u);
  EXPECT_EQ(counts.current("192.0.2.9").from_ip, 1u);
  EXPECT_EQ(counts.current("192.0.2.9").total, 1u);
}

}  // namespace
}  // namespace spamgate::store
