#include "review/parser.h"

#include <simdjson.h>

#include <utility>

#include "review/time_window.h"

namespace spamgate::review {

namespace sj = simdjson::ondemand;
using simdjson::error_code;

static_assert(kLinePadding >= simdjson::SIMDJSON_PADDING);

namespace {

// A value of the wrong type leaves the field at its default; any other error ends the line.
template <typename T>
bool take(simdjson::simdjson_result<T>&& result, T& out) {
  const error_code e = std::move(result).get(out);
  return e == simdjson::SUCCESS || e == simdjson::INCORRECT_TYPE;
}

bool takeString(sj::value& v, std::string_view& out) {
  return take(v.get_string(), out);
}

// A string, or null (present = false).
bool takeNullable(sj::value& v, std::string_view& out, bool& present) {
  bool null = false;
  if (!take(v.is_null(), null)) return false;
  present = !null;
  return null || takeString(v, out);
}

// Calls field(key, value) for each field of `o`, in order, until one returns false.
template <typename Field>
bool eachField(sj::object& o, Field field) {
  for (auto item : o) {
    sj::field f;
    if (std::move(item).get(f) || !field(f.key(), f.value())) return false;
  }
  return true;
}

// The same for a value that should be an object; one of another type is passed over.
template <typename Field>
bool eachField(sj::value& v, Field field) {
  sj::object o;
  if (const error_code e = v.get_object().get(o)) return e == simdjson::INCORRECT_TYPE;
  return eachField(o, field);
}

bool readReply(sj::value& v, ReplyView& out) {
  return eachField(v, [&](const sj::raw_json_string& key, sj::value& value) {
    if (key == "code") return take(value.get_int64(), out.code);
    if (key == "enhanced") return takeString(value, out.enhanced);
    return key != "text" || takeString(value, out.text);
  });
}

bool readClient(sj::value& v, Record& r) {
  return eachField(v, [&](const sj::raw_json_string& key, sj::value& value) {
    if (key == "ip") return takeString(value, r.client_ip);
    return key != "port" || take(value.get_int64(), r.client_port);
  });
}

bool readBackend(sj::value& v, Record& r) {
  return eachField(v, [&](const sj::raw_json_string& key, sj::value& value) {
    if (key == "reply") return takeString(value, r.backend_reply);
    return key != "queue_id" || takeString(value, r.queue_id);
  });
}

bool readSymbol(sj::object& o, SymbolView& s, bool full) {
  return eachField(o, [&](const sj::raw_json_string& key, sj::value& value) {
    if (key == "name") return takeString(value, s.name);
    if (key == "score") return take(value.get_double(), s.score);
    return !full || key != "detail" || takeString(value, s.detail);
  });
}

bool readRcpt(sj::object& o, RcptView& rcpt, bool full) {
  return eachField(o, [&](const sj::raw_json_string& key, sj::value& value) {
    if (key == "address") return takeString(value, rcpt.address);
    return !full || key != "reply" || readReply(value, rcpt.reply);
  });
}

// Elements that are not objects are passed over, as fields of the wrong type are.
template <typename T, typename Read>
bool readArray(sj::value& v, std::vector<T>& out, Read read) {
  sj::array a;
  if (const error_code e = v.get_array().get(a)) return e == simdjson::INCORRECT_TYPE;
  for (auto element : a) {
    sj::object o;
    const error_code e = element.get_object().get(o);
    if (e == simdjson::INCORRECT_TYPE) continue;
    if (e || !read(o, out.emplace_back())) return false;
  }
  return true;
}

enum Required : unsigned { kTime = 1, kEvent = 2, kId = 4, kAction = 8, kAll = 15 };

bool readTime(sj::value& v, Record& r, unsigned& seen) {
  std::string_view text;
  if (v.get_string().get(text)) return false;
  const auto ms = parseLogTime(text);
  if (!ms) return false;
  r.time_ms = *ms;
  seen |= kTime;
  return true;
}

bool readRequired(sj::value& v, std::string_view& out, unsigned bit, unsigned& seen) {
  if (v.get_string().get(out)) return false;
  seen |= bit;
  return true;
}

bool readSummaryField(const sj::raw_json_string& key, sj::value& v, Record& r, unsigned& seen,
                      bool full) {
  if (key == "time") return readTime(v, r, seen);
  if (key == "event") return readRequired(v, r.event, kEvent, seen);
  if (key == "id") return readRequired(v, r.id, kId, seen);
  if (key == "action") return readRequired(v, r.action, kAction, seen);
  if (key == "client") return readClient(v, r);
  if (key == "mail_from") return takeNullable(v, r.mail_from, r.has_mail);
  if (key == "reason") return takeString(v, r.reason);
  if (key == "score") return take(v.get_double(), r.score);
  if (key == "symbols")
    return readArray(v, r.symbols,
                     [full](sj::object& o, SymbolView& s) { return readSymbol(o, s, full); });
  if (key == "rcpts")
    return readArray(v, r.rcpts,
                     [full](sj::object& o, RcptView& rc) { return readRcpt(o, rc, full); });
  return true;
}

bool readDetailField(const sj::raw_json_string& key, sj::value& v, Record& r) {
  bool tls = false;
  if (key == "helo") return takeString(v, r.helo);
  if (key == "tls") return takeNullable(v, r.tls, tls);
  if (key == "size") return take(v.get_uint64(), r.size);
  if (key == "message_id") return takeString(v, r.message_id);
  if (key == "reply") return readReply(v, r.reply);
  if (key == "backend") return readBackend(v, r);
  if (key == "duration_ms") return take(v.get_int64(), r.duration_ms);
  if (key == "quarantined") return take(v.get_bool(), r.quarantined);
  if (key == "release_of") return takeString(v, r.release_of);
  return true;
}

}  // namespace

struct RecordParser::Impl {
  sj::parser parser;
};

RecordParser::RecordParser() : impl_(std::make_unique<Impl>()) {}
RecordParser::~RecordParser() = default;

bool RecordParser::parse(std::string_view line, bool full, Record& out) {
  out.clear();
  sj::document doc;
  if (impl_->parser.iterate(line.data(), line.size(), line.size() + kLinePadding).get(doc))
    return false;
  sj::object object;
  if (doc.get_object().get(object)) return false;
  unsigned seen = 0;
  const bool ok = eachField(object, [&](const sj::raw_json_string& key, sj::value& value) {
    return readSummaryField(key, value, out, seen, full) &&
           (!full || readDetailField(key, value, out));
  });
  return ok && seen == kAll;
}

}  // namespace spamgate::review
