#include "review/render_json.h"

#include <limits>

#include "log/json.h"
#include "review/time_window.h"

namespace spamgate::review {

namespace {

using log::JsonWriter;

void timeOrNull(JsonWriter& json, std::string_view key, int64_t ms, bool open) {
  open ? json.null(key) : json.field(key, formatTime(ms));
}

void head(JsonWriter& json, std::string_view view, const Meta& meta) {
  json.beginObject()
      .field("view", view)
      .field("lines", meta.lines)
      .field("skipped_lines", meta.skipped)
      .beginObject("period");
  timeOrNull(json, "since", meta.window.since_ms,
             meta.window.since_ms == std::numeric_limits<int64_t>::min());
  timeOrNull(json, "until", meta.window.until_ms,
             meta.window.until_ms == std::numeric_limits<int64_t>::max());
  json.endObject();
}

double share(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

void fromField(JsonWriter& json, const log::Decision& d) {
  d.has_mail ? json.field("from", d.mail_from) : json.null("from");
}

void counts(JsonWriter& json, const Summary& s) {
  json.field("decisions", s.decisions);
  timeOrNull(json, "first", s.first_ms, s.decisions == 0);
  timeOrNull(json, "last", s.last_ms, s.decisions == 0);
  json.beginObject("actions");
  for (std::size_t i = 0; i < kActionCount; ++i)
    json.field(kActionNames[i], s.actions[i]);
  json.endObject().beginObject("events");
  for (std::size_t i = 0; i < kEventNames.size(); ++i)
    json.field(kEventNames[i], s.events[i]);
  json.endObject();
}

void reasons(JsonWriter& json, const Summary& s) {
  json.beginArray("rejections");
  for (const auto& r : s.reasons) {
    json.beginObject()
        .field("reason", r.name)
        .field("check", r.check)
        .field("count", r.count)
        .field("share", share(r.count, s.actions[kReject]))
        .endObject();
  }
  json.endArray();
}

void ranked(JsonWriter& json, std::string_view key, std::string_view name,
            const std::vector<Ranked>& list) {
  json.beginArray(key);
  for (const auto& r : list) {
    json.beginObject().field(name, r.name).field("count", r.count).field("rejected", r.rejected);
    json.endObject();
  }
  json.endArray();
}

void rules(JsonWriter& json, const Summary& s) {
  json.beginArray("top_rules");
  for (const auto& r : s.rules) {
    json.beginObject()
        .field("rule", r.name)
        .field("count", r.count)
        .field("rejected", r.rejected)
        .field("share_of_rejections", share(r.rejected, s.actions[kReject]))
        .endObject();
  }
  json.endArray();
}

void hours(JsonWriter& json, const Summary& s) {
  json.beginArray("hours");
  for (const auto& h : s.hours) {
    uint64_t total = 0;
    for (const auto n : h.actions)
      total += n;
    json.beginObject().field("hour", formatHour(h.hour_ms)).field("total", total);
    for (std::size_t i = 0; i < kActionCount; ++i)
      json.field(kActionNames[i], h.actions[i]);
    json.endObject();
  }
  json.endArray();
}

// The log's fields that review reads, in the log's schema (docs/decision-log.md).
}  // namespace

std::string summaryJson(const Summary& s, const Meta& meta) {
  JsonWriter json;
  head(json, "summary", meta);
  counts(json, s);
  reasons(json, s);
  ranked(json, "top_ips", "ip", s.ips);
  ranked(json, "top_sender_domains", "domain", s.domains);
  rules(json, s);
  hours(json, s);
  return json.endObject().take() + "\n";
}

std::string listJson(const std::vector<log::Decision>& decisions, const Meta& meta) {
  JsonWriter json;
  head(json, "list", meta);
  json.beginArray("decisions");
  for (const auto& d : decisions) {
    json.beginObject()
        .field("time", formatTime(d.time_ms))
        .field("id", d.id)
        .field("ip", d.client_ip);
    fromField(json, d);
    json.field("action", d.action).field("score", d.score).field("reason", d.reason).endObject();
  }
  return json.endArray().endObject().take() + "\n";
}

std::string explainJson(const log::Decision& d, const Meta& meta) {
  JsonWriter json;
  head(json, "explain", meta);
  return json.raw("decision", log::toJson(d)).endObject().take() + "\n";
}

std::string falsePositivesJson(const std::vector<FalsePositive>& found, const Meta& meta) {
  JsonWriter json;
  head(json, "false_positives", meta);
  json.beginArray("decisions");
  for (const auto& f : found) {
    const auto& d = f.decision;
    json.beginObject()
        .field("time", formatTime(d.time_ms))
        .field("id", d.id)
        .field("ip", d.client_ip);
    fromField(json, d);
    json.field("score", d.score).field("reason", d.reason).beginArray("why");
    for (const auto& w : f.why)
      json.field("", w);
    json.endArray().endObject();
  }
  return json.endArray().endObject().take() + "\n";
}

}  // namespace spamgate::review
