// Helpers for the src/mime tests: messages written with LF, sent with CRLF as SMTP does.
#pragma once

#include <string>
#include <string_view>

namespace spamgate::mime::test {

inline std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace spamgate::mime::test
