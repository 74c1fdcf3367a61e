// Charset conversion to UTF-8 with iconv (charset names resolved through GMime's alias table),
// and UTF-8 validation. A byte iconv refuses becomes U+FFFD and conversion goes on.
#include <gmime/gmime.h>
#include <iconv.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>

#include "mime/detail.h"

namespace spamgate::mime::detail {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool isContinuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

// The end of the run of ASCII bytes (NUL excluded) that starts at `pos`.
std::size_t asciiRunEnd(std::string_view text, std::size_t pos) {
  for (; pos < text.size(); ++pos) {
    const auto c = static_cast<unsigned char>(text[pos]);
    if (c == 0 || c >= 0x80) break;
  }
  return pos;
}

// Length of the valid UTF-8 sequence at `text[pos]`, or 0.
std::size_t sequenceLength(std::string_view text, std::size_t pos) {
  const auto c = static_cast<unsigned char>(text[pos]);
  if (c != 0 && c < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3;
    if (c == 0xE0) low = 0xA0;   // overlong
    if (c == 0xED) high = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4;
    if (c == 0xF0) low = 0x90;
    if (c == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  const auto second = static_cast<unsigned char>(text[pos + 1]);
  if (second < low || second > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (!isContinuation(static_cast<unsigned char>(text[pos + i]))) return 0;
  }
  return length;
}

std::string normalizedName(std::string_view charset) {
  std::string name;
  for (char c : charset) {
    if (c == '"' || c == '\'' || c == ' ' || c == '\t') continue;
    name += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return name;
}

bool isUtf8(const std::string& name) {
  return name == "utf-8" || name == "utf8";
}

// Undeclared or ASCII: 8-bit bytes then are most often UTF-8 or windows-1252.
bool isUnknownOrAscii(const std::string& name) {
  return name.empty() || name == "us-ascii" || name == "ascii" || name == "ansi_x3.4-1968";
}

class Iconv {
 public:
  explicit Iconv(const char* from) : cd_(iconv_open("UTF-8", from)) {}
  ~Iconv() {
    if (ok()) iconv_close(cd_);
  }
  Iconv(const Iconv&) = delete;
  Iconv& operator=(const Iconv&) = delete;
  bool ok() const { return cd_ != reinterpret_cast<iconv_t>(static_cast<std::intptr_t>(-1)); }

  // Converts all of `bytes`; refused bytes become U+FFFD one at a time.
  std::string convert(std::string_view bytes, bool& error) {
    std::string out;
    out.reserve(bytes.size() + bytes.size() / 2);
    char* in = const_cast<char*>(bytes.data());  // iconv's signature; it does not write
    std::size_t in_left = bytes.size();
    char buffer[4096];
    while (in_left > 0) {
      char* next = buffer;
      std::size_t out_left = sizeof buffer;
      const std::size_t result = iconv(cd_, &in, &in_left, &next, &out_left);
      out.append(buffer, static_cast<std::size_t>(next - buffer));
      if (result != static_cast<std::size_t>(-1) || errno == E2BIG) continue;
      out += kReplacement;  // EILSEQ, or EINVAL (a sequence cut at the end)
      ++in;
      --in_left;
      error = true;
    }
    char* next = buffer;
    std::size_t out_left = sizeof buffer;
    iconv(cd_, nullptr, nullptr, &next, &out_left);  // flush a stateful encoding
    out.append(buffer, static_cast<std::size_t>(next - buffer));
    return out;
  }

 private:
  iconv_t cd_;
};

std::string fromUnknown(std::string_view bytes, bool& error) {
  std::string out;
  if (isValidUtf8(bytes)) {
    appendValidUtf8(out, bytes);  // still replaces NULs
    return out;
  }
  Iconv cp1252("WINDOWS-1252");
  if (!cp1252.ok()) {
    error = true;
    appendValidUtf8(out, bytes);
    return out;
  }
  std::string converted = cp1252.convert(bytes, error);
  appendValidUtf8(out, converted);
  return out;
}

}  // namespace

bool isValidUtf8(std::string_view bytes) {
  for (std::size_t pos = 0; pos < bytes.size();) {
    pos = asciiRunEnd(bytes, pos);
    if (pos == bytes.size()) break;
    const std::size_t length = sequenceLength(bytes, pos);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

void appendValidUtf8(std::string& out, std::string_view bytes) {
  out.reserve(out.size() + bytes.size());
  for (std::size_t pos = 0; pos < bytes.size();) {
    const std::size_t run_end = asciiRunEnd(bytes, pos);
    out.append(bytes.substr(pos, run_end - pos));
    pos = run_end;
    if (pos == bytes.size()) break;
    const std::size_t length = sequenceLength(bytes, pos);
    if (length == 0) {
      out += kReplacement;
      ++pos;
      continue;
    }
    out.append(bytes.substr(pos, length));
    pos += length;
  }
}

std::size_t utf8Cut(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text.size();
  std::size_t pos = max;
  while (pos > 0 && isContinuation(static_cast<unsigned char>(text[pos])))
    --pos;
  return pos;
}

std::string toUtf8(std::string_view bytes, std::string_view charset, bool& error) {
  const std::string name = normalizedName(charset);
  if (isUnknownOrAscii(name)) return fromUnknown(bytes, error);
  std::string out;
  if (isUtf8(name)) {
    if (!isValidUtf8(bytes)) error = true;
    appendValidUtf8(out, bytes);
    return out;
  }
  ensureGMime();  // its charset alias table
  const char* iconv_name = g_mime_charset_iconv_name(name.c_str());
  Iconv converter(iconv_name != nullptr ? iconv_name : name.c_str());
  if (!converter.ok()) {
    error = true;
    return fromUnknown(bytes, error);
  }
  std::string converted = converter.convert(bytes, error);
  appendValidUtf8(out, converted);  // NULs from UTF-16 and the like
  return out;
}

}  // namespace spamgate::mime::detail
