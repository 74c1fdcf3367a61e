// Decision-log lines to Records, with simdjson's On-Demand API: one pass over each line's
// object in document order; values a view does not need are skipped unparsed.
//
// Input: a line (no newline) whose buffer stays readable for kLinePadding bytes past its end
// (LineReader guarantees it). A line is a decision when it is one JSON object with the
// strings `time` (a log time), `event`, `id` and `action`; unknown fields are ignored and
// known fields of the wrong type are left at their defaults. Anything else (truncated,
// garbled, another JSON value, a missing field) makes parse() return false: never an error.
// `full` also reads the fields only --explain shows (HELO, TLS, replies, details, backend).
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "review/record.h"

namespace spamgate::review {

constexpr std::size_t kLinePadding = 64;  // simdjson's SIMDJSON_PADDING

class RecordParser {
 public:
  RecordParser();
  ~RecordParser();
  RecordParser(const RecordParser&) = delete;
  RecordParser& operator=(const RecordParser&) = delete;

  bool parse(std::string_view line, bool full, Record& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spamgate::review
