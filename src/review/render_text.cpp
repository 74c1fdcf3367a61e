#include "review/render_text.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "review/time_window.h"

namespace spamgate::review {

namespace {

void appendRow(std::string& out, const Row& row, const std::vector<std::size_t>& widths,
               std::string_view align) {
  std::string line = " ";
  for (std::size_t i = 0; i < row.size(); ++i) {
    const std::string pad(widths[i] - std::min(widths[i], row[i].size()), ' ');
    const bool last = i + 1 == row.size();
    const bool right = i < align.size() && align[i] == 'r';
    line += " " + (right ? pad + row[i] : row[i] + (last ? "" : pad)) + (last ? "" : " ");
  }
  out += line.substr(0, line.find_last_not_of(' ') + 1) + "\n";
}

std::string fromText(const log::Decision& d) {
  return d.has_mail ? "<" + d.mail_from + ">" : "-";
}

// Keys of the --explain fields, padded so that the blocks before and after the symbols align.
Row field(std::string key, std::string value) {
  key.resize(std::max<std::size_t>(key.size(), 10), ' ');
  return {std::move(key), std::move(value)};
}

std::string indent(const std::string& block) {
  std::string out;
  for (std::size_t at = 0; at < block.size();) {
    const auto nl = block.find('\n', at);
    out += "  " + block.substr(at, nl - at + 1);
    at = nl + 1;
  }
  return out;
}

std::string orDash(const std::string& text) {
  return text.empty() ? "-" : text;
}

std::string replyText(const smtp::Reply& reply) {
  if (reply.code == 0) return "-";
  std::string text = std::to_string(reply.code);
  if (!reply.enhanced.empty()) text += " " + reply.enhanced;
  if (!reply.text.empty()) text += " " + reply.text;
  return text;
}

}  // namespace

std::string table(const Row& header, const std::vector<Row>& rows, std::string_view align) {
  if (rows.empty()) return "  (none)\n";
  std::vector<std::size_t> widths(rows[0].size());
  for (std::size_t i = 0; i < header.size() && i < widths.size(); ++i)
    widths[i] = header[i].size();
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  if (!header.empty()) appendRow(out, header, widths, align);
  for (const auto& row : rows)
    appendRow(out, row, widths, align);
  return out;
}

std::string formatScore(double score) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", score);
  return buffer;
}

std::string formatShare(uint64_t part, uint64_t whole) {
  char buffer[32];
  const double share =
      whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
  std::snprintf(buffer, sizeof buffer, "%.1f%%", share);
  return buffer;
}

std::string periodText(const Window& w) {
  const bool open_start = w.since_ms == std::numeric_limits<int64_t>::min();
  const bool open_end = w.until_ms == std::numeric_limits<int64_t>::max();
  if (open_start && open_end) return "all";
  return (open_start ? std::string("(start)") : formatTime(w.since_ms)) + " .. " +
         (open_end ? std::string("(end)") : formatTime(w.until_ms));
}

std::string listText(const std::vector<log::Decision>& decisions) {
  std::vector<Row> rows;
  for (const auto& d : decisions) {
    rows.push_back({formatTime(d.time_ms), d.id, orDash(d.client_ip), fromText(d), d.action,
                    formatScore(d.score), orDash(d.reason)});
  }
  return table({"time", "id", "ip", "from", "action", "score", "reason"}, rows, "lllllrl");
}

std::vector<Row> explainHead(const log::Decision& d) {
  std::vector<Row> rows = {
      field("time", formatTime(d.time_ms)),
      field("event", d.event),
      field("client", orDash(d.client_ip) + " port " + std::to_string(d.client_port)),
      field("helo", orDash(d.helo)),
      field("tls", d.tls.empty() ? "none" : d.tls),
      field("mail from", fromText(d))};
  for (const auto& r : d.rcpts)
    rows.push_back(field("rcpt to", "<" + r.address + ">  " + replyText(r.reply)));
  rows.push_back(field("size", std::to_string(d.size)));
  rows.push_back(field("message id", orDash(d.message_id)));
  return rows;
}

std::vector<Row> explainTail(const log::Decision& d) {
  std::vector<Row> rows = {field("score", formatScore(d.score)),
                           field("action", d.action),
                           field("reason", orDash(d.reason)),
                           field("reply", replyText(d.reply)),
                           field("backend", orDash(d.backend_reply)),
                           field("queue id", orDash(d.queue_id)),
                           field("duration", std::to_string(d.duration_ms) + " ms")};
  if (d.quarantined) {
    rows.push_back(
        field("quarantine", "kept: spamgate scan --id " + d.id + ", spamgate release " + d.id));
  }
  if (!d.release_of.empty()) rows.push_back(field("release of", d.release_of));
  return rows;
}

std::string explainText(const log::Decision& d) {
  std::vector<Row> symbols;
  for (const auto& s : d.symbols)
    symbols.push_back({formatScore(s.score), s.name, s.detail});
  return "decision " + d.id + "\n" + table({}, explainHead(d), "ll") + "  symbols\n" +
         indent(table({}, symbols, "rll")) + table({}, explainTail(d), "ll");
}

std::string falsePositivesText(const std::vector<FalsePositive>& found) {
  std::vector<Row> rows;
  for (const auto& f : found) {
    std::string why;
    for (const auto& w : f.why)
      why += (why.empty() ? "" : "; ") + w;
    const auto& d = f.decision;
    rows.push_back(
        {formatTime(d.time_ms), d.id, orDash(d.client_ip), fromText(d), orDash(d.reason), why});
  }
  return std::to_string(found.size()) + " rejections that may be false positives\n" +
         table({"time", "id", "ip", "from", "reason", "why"}, rows, "llllll");
}

namespace {

std::string countsLine(const Summary& s) {
  std::string events;
  for (std::size_t i = 0; i < kEventNames.size(); ++i) {
    if (s.events[i] == 0) continue;
    events += (events.empty() ? "" : ", ") + std::string(kEventNames[i]) + " " +
              std::to_string(s.events[i]);
  }
  std::string line = "decisions: " + std::to_string(s.decisions);
  if (!events.empty()) line += " (" + events + ")";
  if (s.decisions > 0) line += ", " + formatTime(s.first_ms) + " to " + formatTime(s.last_ms);
  return line + "\n";
}

Section actionsSection(const Summary& s) {
  std::vector<Row> rows;
  for (std::size_t i = 0; i < kActionCount; ++i) {
    if (i + 1 < kActionCount || s.actions[i] > 0)
      rows.push_back({std::string(kActionNames[i]), std::to_string(s.actions[i]),
                      formatShare(s.actions[i], s.decisions)});
  }
  return {"messages by action", {"action", "count", "share"}, rows, "lrr"};
}

Section reasonsSection(const Summary& s) {
  std::vector<Row> rows;
  for (const auto& r : s.reasons) {
    rows.push_back({orDash(r.check), r.name, std::to_string(r.count),
                    formatShare(r.count, s.actions[kReject])});
  }
  return {"rejections by reason", {"check", "reason", "count", "share"}, rows, "llrr"};
}

Section rankedSection(std::string title, std::string what, const std::vector<Ranked>& ranked) {
  std::vector<Row> rows;
  for (const auto& r : ranked)
    rows.push_back({r.name, std::to_string(r.count), std::to_string(r.rejected)});
  return {std::move(title), {std::move(what), "decisions", "rejected"}, rows, "lrr"};
}

Section rulesSection(const Summary& s) {
  std::vector<Row> rows;
  for (const auto& r : s.rules) {
    rows.push_back({r.name, std::to_string(r.count), std::to_string(r.rejected),
                    formatShare(r.rejected, s.actions[kReject])});
  }
  return {"top rules", {"rule", "decisions", "rejected", "of rejections"}, rows, "lrrr"};
}

Section hoursSection(const Summary& s) {
  Row header = {"hour", "total"};
  for (std::size_t i = 0; i + 1 < kActionCount; ++i)
    header.emplace_back(kActionNames[i]);
  std::vector<Row> rows;
  for (const auto& h : s.hours) {
    uint64_t total = 0;
    for (const auto n : h.actions)
      total += n;
    Row row = {formatHour(h.hour_ms), std::to_string(total)};
    for (std::size_t i = 0; i + 1 < kActionCount; ++i)
      row.push_back(std::to_string(h.actions[i]));
    rows.push_back(std::move(row));
  }
  return {"per hour (UTC)", header, rows, "lrrrrrrr"};
}

}  // namespace

std::string summaryHead(const Summary& s, const Meta& meta) {
  return "period: " + periodText(meta.window) + "\n" + countsLine(s);
}

std::vector<Section> summarySections(const Summary& s) {
  return {actionsSection(s),
          reasonsSection(s),
          rankedSection("top client IPs", "ip", s.ips),
          rankedSection("top sender domains", "domain", s.domains),
          rulesSection(s),
          hoursSection(s)};
}

std::string summaryText(const Summary& s, const Meta& meta) {
  std::string out = summaryHead(s, meta);
  for (const auto& section : summarySections(s))
    out += "\n" + section.title + "\n" + table(section.header, section.rows, section.align);
  return out;
}

}  // namespace spamgate::review
