// A strict RFC 8259 parser for tests: it accepts only what the grammar allows (no NaN, no raw
// control characters, no trailing garbage) and only well-formed UTF-8 (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), and decodes escapes so tests can compare values.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace spamgate::testing {

struct JsonValue {
  enum class Type { Null, Bool, Number, String, Array, Object };
  Type type = Type::Null;
  bool boolean = false;
  double number = 0;
  std::string text;               // Number: the literal as written; String: the decoded value
  std::vector<JsonValue> items;   // Array elements; Object member values, in order
  std::vector<std::string> keys;  // Object member names, parallel to items

  bool isNull() const { return type == Type::Null; }
  const JsonValue& at(std::string_view key) const {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return items[i];
    }
    throw std::out_of_range("no member " + std::string(key));
  }
  bool has(std::string_view key) const {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  }
};

class JsonParser {
 public:
  // The value, or nullopt with `error` set to what was wrong and where.
  static std::optional<JsonValue> parse(std::string_view text, std::string* error = nullptr) {
    JsonParser parser(text);
    try {
      JsonValue value = parser.value(0);
      parser.whitespace();
      if (parser.pos_ != text.size()) parser.fail("trailing characters");
      return value;
    } catch (const std::runtime_error& e) {
      if (error) *error = e.what();
      return std::nullopt;
    }
  }

 private:
  explicit JsonParser(std::string_view text) : s_(text) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(what + " at offset " + std::to_string(pos_));
  }
  unsigned char peek() const { return pos_ < s_.size() ? byte(pos_) : 0; }
  unsigned char byte(std::size_t i) const { return static_cast<unsigned char>(s_[i]); }
  void expect(char c) {
    if (pos_ >= s_.size() || s_[pos_] != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  void whitespace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  void literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) fail("bad literal");
    pos_ += word.size();
  }

  JsonValue value(int depth) {
    if (depth > 64) fail("too deep");
    whitespace();
    JsonValue v;
    switch (peek()) {
      case '{':
        v.type = JsonValue::Type::Object;
        object(v, depth);
        break;
      case '[':
        v.type = JsonValue::Type::Array;
        array(v, depth);
        break;
      case '"':
        v.type = JsonValue::Type::String;
        v.text = string();
        break;
      case 't':
        literal("true");
        v.type = JsonValue::Type::Bool;
        v.boolean = true;
        break;
      case 'f':
        literal("false");
        v.type = JsonValue::Type::Bool;
        break;
      case 'n':
        literal("null");
        break;
      default:
        v.type = JsonValue::Type::Number;
        v.text = numberText();
        v.number = std::strtod(v.text.c_str(), nullptr);
    }
    return v;
  }

  void object(JsonValue& v, int depth) {
    expect('{');
    whitespace();
    if (peek() == '}') {
      ++pos_;
      return;
    }
    for (;;) {
      whitespace();
      if (peek() != '"') fail("expected a key");
      std::string k = string();
      whitespace();
      expect(':');
      v.keys.push_back(std::move(k));
      v.items.push_back(value(depth + 1));
      whitespace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      return;
    }
  }

  void array(JsonValue& v, int depth) {
    expect('[');
    whitespace();
    if (peek() == ']') {
      ++pos_;
      return;
    }
    for (;;) {
      v.items.push_back(value(depth + 1));
      whitespace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(']');
      return;
    }
  }

  std::string numberText() {
    const std::size_t start = pos_;
    const auto digits = [&] {
      const std::size_t from = pos_;
      while (peek() >= '0' && peek() <= '9')
        ++pos_;
      if (pos_ == from) fail("expected a digit");
    };
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else {
      digits();
    }
    if (peek() == '.') {
      ++pos_;
      digits();
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      digits();
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  unsigned hex4() {
    if (pos_ + 4 > s_.size()) fail("short \\u escape");
    unsigned value = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        fail("bad hex digit");
      }
    }
    return value;
  }

  static void appendUtf8(std::string& out, unsigned cp) {
    const auto put = [&](unsigned b) { out += static_cast<char>(static_cast<unsigned char>(b)); };
    if (cp < 0x80) {
      put(cp);
    } else if (cp < 0x800) {
      put(0xc0 | (cp >> 6));
      put(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      put(0xe0 | (cp >> 12));
      put(0x80 | ((cp >> 6) & 0x3f));
      put(0x80 | (cp & 0x3f));
    } else {
      put(0xf0 | (cp >> 18));
      put(0x80 | ((cp >> 12) & 0x3f));
      put(0x80 | ((cp >> 6) & 0x3f));
      put(0x80 | (cp & 0x3f));
    }
  }

  unsigned escape() {
    const char c = s_[pos_++];
    switch (c) {
      case '"':
      case '\\':
      case '/':
        return static_cast<unsigned char>(c);
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'u': {
        const unsigned first = hex4();
        if (first >= 0xdc00 && first <= 0xdfff) fail("lone low surrogate");
        if (first < 0xd800 || first > 0xdbff) return first;
        if (s_.substr(pos_, 2) != "\\u") fail("lone high surrogate");
        pos_ += 2;
        const unsigned second = hex4();
        if (second < 0xdc00 || second > 0xdfff) fail("bad low surrogate");
        return 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
      }
      default:
        fail("bad escape");
    }
  }

  // Decodes one raw UTF-8 sequence, rejecting every ill-formed one.
  unsigned rawCodePoint() {
    const unsigned char c = byte(pos_);
    std::size_t n = 0;
    unsigned cp = 0;
    if (c < 0x80) {
      ++pos_;
      return c;
    } else if ((c & 0xe0) == 0xc0) {
      n = 2;
      cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
      n = 3;
      cp = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
      n = 4;
      cp = c & 0x07u;
    } else {
      fail("invalid UTF-8 lead byte");
    }
    if (pos_ + n > s_.size()) fail("truncated UTF-8");
    for (std::size_t k = 1; k < n; ++k) {
      const unsigned char cc = byte(pos_ + k);
      if ((cc & 0xc0) != 0x80) fail("bad UTF-8 continuation");
      cp = (cp << 6) | (cc & 0x3fu);
    }
    const unsigned minimum = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (cp < minimum) fail("overlong UTF-8");
    if (cp >= 0xd800 && cp <= 0xdfff) fail("UTF-8 surrogate");
    if (cp > 0x10ffff) fail("UTF-8 above U+10FFFF");
    pos_ += n;
    return cp;
  }

  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const unsigned char c = byte(pos_);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("raw control character in string");
      if (c < 0x80 && c != '\\') {  // a run of plain ASCII, copied at once
        std::size_t end = pos_;
        while (end < s_.size() && byte(end) >= 0x20 && byte(end) < 0x80 && s_[end] != '"' &&
               s_[end] != '\\')
          ++end;
        out.append(s_.substr(pos_, end - pos_));
        pos_ = end;
        continue;
      }
      if (c == '\\') {
        ++pos_;
        if (pos_ >= s_.size()) fail("unterminated escape");
        appendUtf8(out, escape());
      } else {
        appendUtf8(out, rawCodePoint());
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace spamgate::testing
