// SpamAssassin's Perl regex literals to PCRE2: delimiters, flags, compilation.
#include <cctype>
#include <string>

#include "rules/internal.h"

namespace spamgate::rules::detail {
namespace {

char closingOf(char open) {
  switch (open) {
    case '(':
      return ')';
    case '{':
      return '}';
    case '[':
      return ']';
    case '<':
      return '>';
    default:
      return open;
  }
}

bool isWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// Index of the closing delimiter of the pattern starting at `begin`, or npos. A backslash
// escapes the next character; bracketing delimiters nest, as in Perl.
std::size_t findClose(std::string_view text, std::size_t begin, char open, char close) {
  int depth = 0;
  for (std::size_t i = begin; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      ++i;
    } else if (c == close && depth == 0) {
      return i;
    } else if (open != close && c == open) {
      ++depth;
    } else if (open != close && c == close) {
      --depth;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<Delimited> splitDelimited(std::string_view text, std::string& error) {
  std::size_t at = 0;
  if (text.size() >= 2 && text[0] == 'm' && !isWordChar(text[1]) &&
      std::isspace(static_cast<unsigned char>(text[1])) == 0) {
    at = 1;
  } else if (text.empty() || text[0] != '/') {
    error = "expected /regex/ or m{regex}";
    return std::nullopt;
  }
  char open = text[at];
  char close = closingOf(open);
  std::size_t end = findClose(text, at + 1, open, close);
  if (end == std::string_view::npos) {
    error = "regex without its closing delimiter '" + std::string(1, close) + "'";
    return std::nullopt;
  }
  Delimited out;
  out.pattern = std::string(text.substr(at + 1, end - at - 1));
  std::size_t flags_end = end + 1;
  while (flags_end < text.size() && isWordChar(text[flags_end]))
    ++flags_end;
  out.flags = std::string(text.substr(end + 1, flags_end - end - 1));
  out.rest = text.substr(flags_end);
  return out;
}

Code compileRegex(const Delimited& re, uint32_t extra, bool jit, std::string& error) {
  uint32_t options = extra;
  for (char flag : re.flags) {
    switch (flag) {
      case 'i':
        options |= PCRE2_CASELESS;
        break;
      case 'm':
        options |= PCRE2_MULTILINE;
        break;
      case 's':
        options |= PCRE2_DOTALL;
        break;
      case 'x':
        options |= PCRE2_EXTENDED;
        break;
      case 'o':
        break;  // Perl's compile-once: meaningless here
      default:
        error = "bad regex flags '" + re.flags + "'";
        return nullptr;
    }
  }
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* compiled = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(re.pattern.data()),
                                       re.pattern.size(), options, &code, &offset, nullptr);
  if (compiled == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(code, message, sizeof message);
    error = "bad regex: " + std::string(reinterpret_cast<const char*>(message)) + " at offset " +
            std::to_string(offset);
    return nullptr;
  }
  // A pattern the JIT refuses still runs, interpreted, within the same limits.
  if (jit) pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE);
  return Code(compiled);
}

}  // namespace spamgate::rules::detail
