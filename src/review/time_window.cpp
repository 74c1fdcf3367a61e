#include "review/time_window.h"

#include <charconv>
#include <cstdio>

namespace spamgate::review {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t daysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Civil {
  int64_t year, month, day;
};

Civil civilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp + (mp < 10 ? 3 : -9);
  return {yoe + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

// The number of exactly `n` digits at text[at], or -1.
int64_t digits(std::string_view text, std::size_t at, std::size_t n) {
  if (at + n > text.size()) return -1;
  int64_t value = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

std::optional<int64_t> parseDate(std::string_view text) {
  const int64_t y = digits(text, 0, 4), m = digits(text, 5, 2), d = digits(text, 8, 2);
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  if (y < 0 || m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  return daysFromCivil(y, m, d) * 86'400'000;
}

// "HH:MM:SS", then an optional ".fff" (1 to 3 digits) and an optional "Z", at text[11].
std::optional<int64_t> parseClock(std::string_view text) {
  const int64_t h = digits(text, 11, 2), mi = digits(text, 14, 2), s = digits(text, 17, 2);
  if (text.size() < 19 || text[13] != ':' || text[16] != ':') return std::nullopt;
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return std::nullopt;
  int64_t ms = 0;
  std::size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    std::size_t n = 0;
    while (at + 1 + n < text.size() && n < 3 && text[at + 1 + n] >= '0' && text[at + 1 + n] <= '9')
      ++n;
    if (n == 0) return std::nullopt;
    ms = digits(text, at + 1, n) * (n == 1 ? 100 : n == 2 ? 10 : 1);
    at += 1 + n;
  }
  if (at < text.size() && text[at] == 'Z') ++at;
  if (at != text.size()) return std::nullopt;
  return ((h * 60 + mi) * 60 + s) * 1000 + ms;
}

std::optional<int64_t> parseDuration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  int64_t n = 0;
  const auto* end = text.data() + text.size() - 1;
  const auto [ptr, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc{} || ptr != end || n < 0 || n > 100'000'000) return std::nullopt;
  switch (text.back()) {
    case 's':
      return n * 1000;
    case 'm':
      return n * 60'000;
    case 'h':
      return n * kHourMs;
    case 'd':
      return n * 24 * kHourMs;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<int64_t> parseLogTime(std::string_view text) {
  if (text.size() < 19 || text[10] != 'T') return std::nullopt;
  const auto date = parseDate(text);
  const auto clock = parseClock(text);
  if (!date || !clock) return std::nullopt;
  return *date + *clock;
}

std::optional<int64_t> parseWhen(std::string_view text, int64_t now_ms) {
  if (const auto back = parseDuration(text)) return now_ms - *back;
  if (text.size() == 10) return parseDate(text);
  if (text.size() == 16) return parseLogTime(std::string(text) + ":00");  // no seconds
  return parseLogTime(text);
}

std::string formatTime(int64_t ms) {
  const int64_t days = (ms >= 0 ? ms : ms - 86'399'999) / 86'400'000;
  const int64_t rest = ms - days * 86'400'000;
  const Civil c = civilFromDays(days);
  char buffer[128];
  std::snprintf(buffer, sizeof buffer, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(c.year), static_cast<long long>(c.month),
                static_cast<long long>(c.day), static_cast<long long>(rest / kHourMs),
                static_cast<long long>(rest / 60'000 % 60),
                static_cast<long long>(rest / 1000 % 60), static_cast<long long>(rest % 1000));
  return buffer;
}

std::string formatHour(int64_t ms) {
  return formatTime(ms).substr(0, 13) + ":00Z";
}

}  // namespace spamgate::review
