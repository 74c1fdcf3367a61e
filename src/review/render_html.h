// The summary as one self-contained HTML page: inline CSS and SVG, no script, no external
// resource. Two charts (actions per UTC hour as stacked bars, rejections by reason as
// horizontal bars; every bar an SVG <rect class="bar ..."> with a <title> giving its count)
// and the summary's tables with their numbers. Text from the log is HTML-escaped.
#pragma once

#include <string>

#include "review/review.h"
#include "review/summary.h"

namespace spamgate::review {

std::string summaryHtml(const Summary& summary, const Meta& meta);
std::string escapeHtml(std::string_view text);

}  // namespace spamgate::review
