#include "checks/dnsbl_codes.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

namespace spamgate::checks {

namespace {

class PatternError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A reader over one pattern; each take...() consumes what it parsed or throws.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  bool atEnd() const { return text_.empty(); }
  bool take(std::string_view literal) {
    if (text_.substr(0, literal.size()) != literal) return false;
    text_.remove_prefix(literal.size());
    return true;
  }
  void expect(std::string_view literal) {
    if (!take(literal)) throw PatternError("expected '" + std::string(literal) + "'");
  }
  unsigned takeOctet() {
    std::size_t digits = 0;
    while (digits < text_.size() && text_[digits] >= '0' && text_[digits] <= '9') {
      ++digits;
    }
    unsigned value = 0;
    if (digits == 0 || digits > 3) throw PatternError("expected a number 0..255");
    std::from_chars(text_.data(), text_.data() + digits, value);
    if (value > 255) throw PatternError("number over 255");
    text_.remove_prefix(digits);
    return value;
  }

 private:
  std::string_view text_;
};

// "N" or "N..M" inside brackets, into `allowed`.
void takeElement(Reader& reader, std::bitset<256>& allowed) {
  const unsigned low = reader.takeOctet();
  unsigned high = low;
  if (reader.take("..")) high = reader.takeOctet();
  if (high < low) throw PatternError("empty range");
  for (unsigned value = low; value <= high; ++value) {
    allowed.set(value);
  }
}

std::bitset<256> takeOctetSet(Reader& reader) {
  std::bitset<256> allowed;
  if (!reader.take("[")) {
    allowed.set(reader.takeOctet());
    return allowed;
  }
  do {
    takeElement(reader, allowed);
  } while (reader.take(";"));
  reader.expect("]");
  return allowed;
}

}  // namespace

CodeFilter::Pattern CodeFilter::parsePattern(std::string_view text) {
  Reader reader(text);
  Pattern pattern;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (i > 0) reader.expect(".");
    pattern[i] = takeOctetSet(reader);
  }
  if (!reader.atEnd()) throw PatternError("trailing characters");
  return pattern;
}

CodeFilter CodeFilter::parse(const std::vector<std::string>& patterns) {
  CodeFilter filter;
  for (const auto& text : patterns) {
    try {
      filter.patterns_.push_back(parsePattern(text));
    } catch (const PatternError& e) {
      throw std::invalid_argument("dnsbl code '" + text + "': " + e.what());
    }
  }
  return filter;
}

bool CodeFilter::matches(uint32_t code) const {
  for (const auto& pattern : patterns_) {
    bool all = true;
    for (std::size_t i = 0; i < pattern.size() && all; ++i) {
      all = pattern[i].test((code >> (24 - 8 * i)) & 0xff);
    }
    if (all) return true;
  }
  return false;
}

std::optional<uint32_t> parseDnsblCode(std::string_view text) {
  std::array<char, INET_ADDRSTRLEN> buffer{};
  if (text.empty() || text.size() >= buffer.size()) return std::nullopt;
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  text.copy(buffer.data(), text.size());
  in_addr address{};
  if (inet_pton(AF_INET, buffer.data(), &address) != 1) return std::nullopt;
  return ntohl(address.s_addr);
}

std::string dnsblCodeText(uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

}  // namespace spamgate::checks
