#include "review/render_html.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "review/render_text.h"
#include "review/time_window.h"

namespace spamgate::review {

namespace {

constexpr std::array<std::string_view, kActionCount> kColors = {
    "#43a047", "#fbc02d", "#8e24aa", "#e53935", "#546e7a", "#bdbdbd", "#795548"};

std::string num(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

std::string rect(std::string_view cls, double x, double y, double w, double h,
                 std::string_view color, const std::string& title) {
  return "<rect class=\"bar " + std::string(cls) + "\" x=\"" + num(x) + "\" y=\"" + num(y) +
         "\" width=\"" + num(w) + "\" height=\"" + num(h) + "\" fill=\"" + std::string(color) +
         "\"><title>" + escapeHtml(title) + "</title></rect>";
}

std::string text(double x, double y, std::string_view anchor, const std::string& content) {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + std::string(anchor) +
         "\">" + escapeHtml(content) + "</text>";
}

uint64_t hourTotal(const HourRow& h) {
  uint64_t total = 0;
  for (const auto n : h.actions)
    total += n;
  return total;
}

std::string hourBars(const HourRow& h, double x, double width, double scale, double base) {
  std::string out;
  double y = base;
  for (std::size_t a = 0; a < kActionCount; ++a) {
    if (h.actions[a] == 0) continue;
    const double height = static_cast<double>(h.actions[a]) * scale;
    y -= height;
    out += rect("action-" + std::string(kActionNames[a]), x, y, width, height, kColors[a],
                formatHour(h.hour_ms) + " " + std::string(kActionNames[a]) + ": " +
                    std::to_string(h.actions[a]));
  }
  return out;
}

std::string hoursChart(const Summary& s) {
  const double width = 900, left = 50, base = 230;
  uint64_t peak = 1;
  for (const auto& h : s.hours)
    peak = std::max(peak, hourTotal(h));
  const double slot =
      (width - left - 10) / static_cast<double>(std::max<std::size_t>(s.hours.size(), 1));
  const double scale = (base - 20) / static_cast<double>(peak);
  const std::size_t every = std::max<std::size_t>(1, s.hours.size() / 8);
  std::string out =
      "<svg id=\"hours-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" "
      "height=\"260\" viewBox=\"0 0 900 260\" role=\"img\">";
  out += text(left - 6, base - static_cast<double>(peak) * scale + 4, "end", std::to_string(peak));
  out += text(left - 6, base, "end", "0");
  for (std::size_t i = 0; i < s.hours.size(); ++i) {
    const double x = left + slot * static_cast<double>(i);
    out += hourBars(s.hours[i], x + slot * 0.1, std::max(slot * 0.8, 1.0), scale, base);
    if (i % every == 0)
      out += text(x + slot / 2, base + 18, "middle", formatHour(s.hours[i].hour_ms).substr(5));
  }
  return out + "</svg>\n";
}

std::string reasonsChart(const Summary& s) {
  const double row = 26, label = 330, bar_width = 480;
  const auto height = num(row * static_cast<double>(s.reasons.size()) + 10);
  uint64_t peak = 1;
  for (const auto& r : s.reasons)
    peak = std::max(peak, r.count);
  std::string out =
      "<svg id=\"reasons-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" "
      "height=\"" +
      height + "\" viewBox=\"0 0 900 " + height + "\" role=\"img\">";
  for (std::size_t i = 0; i < s.reasons.size(); ++i) {
    const auto& r = s.reasons[i];
    const double y = row * static_cast<double>(i) + 5;
    const double w = bar_width * static_cast<double>(r.count) / static_cast<double>(peak);
    out += text(label - 8, y + 15, "end", r.name);
    out += rect("reason", label, y, w, row - 8, kColors[kReject],
                r.name + ": " + std::to_string(r.count));
    out += text(label + w + 6, y + 15, "start", std::to_string(r.count));
  }
  return out + "</svg>\n";
}

std::string legend() {
  std::string out = "<p class=\"legend\">";
  for (std::size_t a = 0; a < kActionCount; ++a) {
    out += "<span><i style=\"background:" + std::string(kColors[a]) + "\"></i>" +
           std::string(kActionNames[a]) + "</span> ";
  }
  return out + "</p>\n";
}

std::string htmlRow(std::string_view cell, const Row& row, std::string_view align) {
  std::string out = "<tr>";
  for (std::size_t i = 0; i < row.size(); ++i) {
    const bool right = i < align.size() && align[i] == 'r';
    out += "<" + std::string(cell) + (right ? " class=\"num\">" : ">") + escapeHtml(row[i]) + "</" +
           std::string(cell) + ">";
  }
  return out + "</tr>\n";
}

// The text view's sections as HTML tables.
std::string htmlTables(const Summary& s) {
  std::string out;
  for (const auto& section : summarySections(s)) {
    out += "<h2>" + escapeHtml(section.title) + "</h2>\n<table>\n" +
           htmlRow("th", section.header, section.align);
    for (const auto& row : section.rows)
      out += htmlRow("td", row, section.align);
    out += "</table>\n";
  }
  return out;
}

constexpr std::string_view kStyle =
    "body{font-family:sans-serif;margin:2em;color:#222}h1{font-size:1.4em}"
    "h2{font-size:1.1em;margin-top:1.5em}pre{font-size:0.9em}svg text{font-size:11px}"
    ".legend span{margin-right:1em}.legend i{display:inline-block;width:0.9em;height:0.9em;"
    "margin-right:0.3em;vertical-align:middle}table{border-collapse:collapse}"
    "td,th{padding:0.15em 0.8em;border-bottom:1px solid #ddd;text-align:left}"
    ".num{text-align:right}";

}  // namespace

std::string escapeHtml(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (const char c : in) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string summaryHtml(const Summary& s, const Meta& meta) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<title>spamgate review</title><style>" +
         std::string(kStyle) +
         "</style></head><body>\n<h1>spamgate review: " + escapeHtml(periodText(meta.window)) +
         "</h1>\n<pre class=\"head\">" + escapeHtml(summaryHead(s, meta)) +
         "</pre>\n<h2>actions per hour (UTC)</h2>\n" + legend() + hoursChart(s) +
         "<h2>rejections by reason</h2>\n" + reasonsChart(s) + htmlTables(s) + "</body></html>\n";
}

}  // namespace spamgate::review
