// Times of the decision log and of `spamgate review --since/--until`, as Unix milliseconds,
// UTC throughout (the log writes UTC; an operator's "2026-11-01" means that UTC day).
//
// parseLogTime: "2026-11-30T01:58:35.277Z" (what the log writes); the fraction and the Z are
//   optional, so "2026-11-30T01:58:35" is taken too. Empty on anything else.
// parseWhen: a --since/--until value: a duration back from `now_ms` ("90s", "30m", "2h",
//   "7d"), a date ("2026-11-01", its midnight), "2026-11-01T10:00", or a log time as above.
//   Empty on anything else.
// formatTime / formatHour: "2026-11-30T01:58:35.277Z" / "2026-11-30T01:00Z".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spamgate::review {

constexpr int64_t kHourMs = 3'600'000;

std::optional<int64_t> parseLogTime(std::string_view text);
std::optional<int64_t> parseWhen(std::string_view text, int64_t now_ms);
std::string formatTime(int64_t ms);
std::string formatHour(int64_t ms);

}  // namespace spamgate::review
