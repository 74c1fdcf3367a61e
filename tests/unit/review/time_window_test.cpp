#include "review/time_window.h"

#include <gtest/gtest.h>

namespace spamgate::review {
namespace {

constexpr int64_t kDay = 86'400'000;
// 2026-11-30T00:00:00Z: 20787 days after 1970-01-01.
constexpr int64_t k20261130 = 20787 * kDay;

TEST(TimeWindow, LogTimes) {
  EXPECT_EQ(parseLogTime("1970-01-01T00:00:00.000Z"), 0);
  EXPECT_EQ(parseLogTime("2026-11-30T01:58:35.277Z"), k20261130 + 7115277);
  EXPECT_EQ(parseLogTime("2026-11-30T01:58:35"), k20261130 + 7115000);
  EXPECT_EQ(parseLogTime("2026-11-30T01:58:35.5Z"), k20261130 + 7115500);
  EXPECT_EQ(parseLogTime("2024-02-29T00:00:00Z"), (19782) * kDay);  // a leap day
}

TEST(TimeWindow, BadLogTimes) {
  for (const char* bad : {"", "not a time", "2026-11-30", "2026-11-30 01:58:35",
                          "2026-13-01T00:00:00", "2026-11-30T24:00:00", "2026-11-30T01:58:35.Z",
                          "2026-11-30T01:58:35Zjunk", "2026-11-30T1:58:35"}) {
    EXPECT_FALSE(parseLogTime(bad)) << bad;
  }
}

TEST(TimeWindow, WhenForms) {
  const int64_t now = k20261130 + 12 * kHourMs;
  EXPECT_EQ(parseWhen("2h", now), now - 2 * kHourMs);
  EXPECT_EQ(parseWhen("30m", now), now - 30 * 60'000);
  EXPECT_EQ(parseWhen("7d", now), now - 7 * kDay);
  EXPECT_EQ(parseWhen("90s", now), now - 90'000);
  EXPECT_EQ(parseWhen("2026-11-01", now), k20261130 - 29 * kDay);
  EXPECT_EQ(parseWhen("2026-11-30T10:00", now), k20261130 + 10 * kHourMs);
  EXPECT_EQ(parseWhen("2026-11-30T10:00:00", now), k20261130 + 10 * kHourMs);
  EXPECT_EQ(parseWhen("2026-11-30T10:00:00.250Z", now), k20261130 + 10 * kHourMs + 250);
  for (const char* bad : {"", "h", "2x", "-2h", "2 h", "2026-11", "yesterday", "2026-11-30T10"}) {
    EXPECT_FALSE(parseWhen(bad, now)) << bad;
  }
}

TEST(TimeWindow, Format) {
  EXPECT_EQ(formatTime(k20261130 + 7115277), "2026-11-30T01:58:35.277Z");
  EXPECT_EQ(formatTime(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(formatHour(k20261130 + 7115277), "2026-11-30T01:00Z");
}

}  // namespace
}  // namespace spamgate::review
