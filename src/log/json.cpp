#include "log/json.h"

#include <cstdio>

namespace spamgate::log {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0.
std::size_t utf8Length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  }
  return n;
}

}  // namespace

void JsonWriter::separate() {
  if (!first_) out_ += ',';
  first_ = false;
}

void JsonWriter::key(std::string_view k) {
  separate();
  if (k.empty()) return;
  string(k);
  out_ += ':';
}

void JsonWriter::string(std::string_view s) {
  out_ += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out_ += '\\';
      out_ += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out_ += buffer;
    } else if (c < 0x80) {
      out_ += static_cast<char>(c);
    } else if (const auto n = utf8Length(s, i); n > 0) {
      out_.append(s.substr(i, n));
      i += n - 1;
    } else {
      out_ += "\xef\xbf\xbd";
    }
  }
  out_ += '"';
}

JsonWriter& JsonWriter::beginObject(std::string_view k) {
  if (!out_.empty()) key(k);
  out_ += '{';
  first_ = true;
  return *this;
}

JsonWriter& JsonWriter::endObject() {
  out_ += '}';
  first_ = false;
  return *this;
}

JsonWriter& JsonWriter::beginArray(std::string_view k) {
  key(k);
  out_ += '[';
  first_ = true;
  return *this;
}

JsonWriter& JsonWriter::endArray() {
  out_ += ']';
  first_ = false;
  return *this;
}

JsonWriter& JsonWriter::field(std::string_view k, std::string_view value) {
  key(k);
  string(value);
  return *this;
}

JsonWriter& JsonWriter::field(std::string_view k, int64_t value) {
  key(k);
  out_ += std::to_string(value);
  return *this;
}

JsonWriter& JsonWriter::field(std::string_view k, uint64_t value) {
  key(k);
  out_ += std::to_string(value);
  return *this;
}

JsonWriter& JsonWriter::field(std::string_view k, double value) {
  key(k);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  out_ += buffer;
  return *this;
}

JsonWriter& JsonWriter::field(std::string_view k, bool value) {
  key(k);
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null(std::string_view k) {
  key(k);
  out_ += "null";
  return *this;
}

}  // namespace spamgate::log
