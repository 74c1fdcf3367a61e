#include "config/dnsbl_code.h"

#include <string>

#include "config/values.h"

namespace spamgate::config {

namespace {

using detail::ValueError;

constexpr std::size_t kOctets = 4;

// A cursor over one pattern; errors name the octet (1-4).
class CodeParser {
 public:
  explicit CodeParser(std::string_view text) : text_(text) {}

  DnsblCodePattern run() {
    if (text_.empty()) throw ValueError("must not be empty");
    for (octet_ = 1; octet_ <= kOctets; ++octet_) {
      if (octet_ > 1 && !accept('.')) fourOctets();
      if (accept('[')) {
        readList();
      } else {
        allow(readNumber("a number 0-255 or [...]"));
      }
    }
    if (pos_ != text_.size()) fourOctets();
    return pattern_;
  }

 private:
  // "N;M..K;...]" after the '['.
  void readList() {
    do {
      const unsigned low = readNumber("a number 0-255 inside [...]");
      unsigned high = low;
      if (accept('.')) {
        if (!accept('.')) fail("expected \"..\" in a range, as in [2..11]");
        high = readNumber("a number 0-255 after \"..\"");
        if (high < low) {
          fail("range " + std::to_string(low) + ".." + std::to_string(high) + " is reversed");
        }
      }
      for (unsigned value = low; value <= high; ++value)
        allow(value);
    } while (accept(';'));
    if (!accept(']')) fail(pos_ == text_.size() ? "missing ']'" : "expected ';' or ']'");
  }

  unsigned readNumber(std::string_view expected) {
    const std::size_t start = pos_;
    unsigned value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      if (pos_ - start == 3) fail("number longer than 3 digits");
      value = value * 10 + static_cast<unsigned>(text_[pos_++] - '0');
    }
    if (pos_ == start) fail("expected " + std::string(expected));
    if (value > 255) fail(std::to_string(value) + " is above 255");
    return value;
  }

  void allow(unsigned value) { pattern_[octet_ - 1].set(value); }

  bool accept(char c) {
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }

  [[noreturn]] void fail(const std::string& reason) const {
    throw ValueError("octet " + std::to_string(octet_) + ": " + reason);
  }

  [[noreturn]] static void fourOctets() {
    throw ValueError(
        "expected four octets separated by '.', as in \"127.0.0.2\" or \"127.0.0.[2..11]\"");
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t octet_ = 1;
  DnsblCodePattern pattern_;
};

}  // namespace

DnsblCodePattern parseDnsblCodePattern(std::string_view text) {
  return CodeParser(text).run();
}

}  // namespace spamgate::config
