// Plain-text views for people: aligned tables (numbers right-aligned, two spaces between
// columns, no trailing blanks), UTC times as the log writes them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "log/decision_log.h"
#include "review/false_positives.h"
#include "review/review.h"
#include "review/summary.h"

namespace spamgate::review {

using Row = std::vector<std::string>;
// The rows under the header (none when empty), indented by two spaces; `align` has an 'l' or
// 'r' per column. "  (none)" when there are no rows.
std::string table(const Row& header, const std::vector<Row>& rows, std::string_view align);

std::string formatScore(double score);  // "16", "2.5", "-0.1" (as the log writes it)
std::string formatShare(uint64_t part, uint64_t whole);  // "42.9%"
std::string periodText(const Window& window);            // "2026-11-30T01:00:00.000Z .. (open)"

// The summary: a head (period, counts) and its tables, for the text and the HTML views.
struct Section {
  std::string title;
  Row header;
  std::vector<Row> rows;
  std::string align;
};
std::string summaryHead(const Summary& summary, const Meta& meta);
std::vector<Section> summarySections(const Summary& summary);
std::string summaryText(const Summary& summary, const Meta& meta);
std::string listText(const std::vector<log::Decision>& decisions);
std::string explainText(const log::Decision& decision);
std::string falsePositivesText(const std::vector<FalsePositive>& found);

}  // namespace spamgate::review
