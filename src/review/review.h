// `spamgate review`: reads decision logs (docs/decision-log.md) and answers an operator's
// questions about them: a summary of a period, the matching decisions one per line, one
// decision in full, the rejections that look like false positives; as aligned text tables,
// as one JSON document, or the summary as a self-contained HTML page.
//
// Inputs: Options (files, "-" or none for stdin; plain or gzip). Lines that are not
// decisions are counted and skipped, never fatal ("skipped N lines that are not decisions"
// on `err`, "skipped_lines" in JSON). Exit status: 0; 1 when a file could not be read to its
// end (the others are still reviewed), when --explain finds no such decision, or when the
// HTML file cannot be written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "review/filter.h"

namespace spamgate::review {

enum class View { Summary, List, Explain, FalsePositives };

struct Options {
  std::vector<std::string> files;  // empty: stdin
  Filter filter;
  View view = View::Summary;
  std::string explain_id;
  bool json = false;
  std::string html_path;  // Summary only: write the page here instead of printing
  std::size_t top = 10;
};

// What every view reports about its input.
struct Meta {
  uint64_t lines = 0;    // non-empty lines read
  uint64_t skipped = 0;  // of those, not decisions
  Window window;
};

int review(const Options& options, std::ostream& out, std::ostream& err);

}  // namespace spamgate::review
