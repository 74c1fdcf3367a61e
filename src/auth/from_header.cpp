#include "auth/from_header.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "base/ascii.h"

namespace spamgate::auth {

namespace {

bool isWsp(char c) {
  return c == ' ' || c == '\t';
}

bool validFieldName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 33 && byte <= 126 && c != ':';
  });
}

// ---- mailbox-list lexer: words, quoted strings, domain literals and specials; CFWS dropped.

enum class Kind { Word, Quoted, Literal, Special };

struct Token {
  Kind kind;
  std::string text;  // Word: the atom; Special: the one character
};

// atext (RFC 5322 3.2.3) and '.', which joins atoms into dot-atoms; UTF-8 bytes per RFC 6532.
bool isWordChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x80) return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != '\0' && std::strchr("!#$%&'*+-/=?^_`{|}~.", c) != nullptr;
}

// At '(': skips a comment, nested ones and quoted-pairs included; false if unterminated.
bool skipComment(std::string_view value, std::size_t& pos) {
  std::size_t depth = 0;
  for (; pos < value.size(); ++pos) {
    const char c = value[pos];
    if (c == '\\') {
      ++pos;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && --depth == 0) {
      ++pos;
      return true;
    }
  }
  return false;
}

// At `open`: a quoted string or domain literal up to `close`, with quoted-pairs unescaped.
bool readDelimited(std::string_view value, std::size_t& pos, char close, std::string& out) {
  for (++pos; pos < value.size(); ++pos) {
    const char c = value[pos];
    if (c == close) {
      ++pos;
      return true;
    }
    if (c == '\\') {
      if (++pos == value.size()) return false;
      out += value[pos];
    } else if (c != '\r' && c != '\n') {
      out += c;
    }
  }
  return false;
}

std::optional<std::vector<Token>> tokenize(std::string_view value) {
  std::vector<Token> tokens;
  std::size_t pos = 0;
  while (pos < value.size()) {
    const char c = value[pos];
    if (isWsp(c) || c == '\r' || c == '\n') {
      ++pos;
    } else if (c == '(') {
      if (!skipComment(value, pos)) return std::nullopt;
    } else if (c == '"' || c == '[') {
      Token token{c == '"' ? Kind::Quoted : Kind::Literal, {}};
      if (!readDelimited(value, pos, c == '"' ? '"' : ']', token.text)) return std::nullopt;
      tokens.push_back(std::move(token));
    } else if (isWordChar(c)) {
      const std::size_t start = pos;
      while (pos < value.size() && isWordChar(value[pos]))
        ++pos;
      tokens.push_back(Token{Kind::Word, std::string(value.substr(start, pos - start))});
    } else if (c != '\0' && std::strchr("<>:;@,", c) != nullptr) {
      tokens.push_back(Token{Kind::Special, std::string(1, c)});
      ++pos;
    } else {
      return std::nullopt;  // ')' unmatched, '\\' or ']' outside a string, control characters
    }
  }
  return tokens;
}

// A dot-atom domain: no empty label. ASCII lower-cased; other bytes as written.
std::optional<std::string> domainOf(const Token& token) {
  if (token.kind != Kind::Word) return std::nullopt;
  const std::string& text = token.text;
  if (text.front() == '.' || text.back() == '.' || text.find("..") != std::string::npos) {
    return std::nullopt;
  }
  std::string domain = text;
  for (char& c : domain)
    c = base::asciiLower(c);
  return domain;
}

// ---- mailbox-list parser over the tokens (RFC 5322 3.4, obs-mbox-list's empty elements).

class AddressParser {
 public:
  explicit AddressParser(const std::vector<Token>& tokens) : tokens_(tokens) {}

  std::optional<std::vector<std::string>> run() {
    if (!list(false) || pos_ != tokens_.size()) return std::nullopt;
    return std::move(domains_);
  }

 private:
  bool atSpecial(char c) const {
    return pos_ < tokens_.size() && tokens_[pos_].kind == Kind::Special &&
           tokens_[pos_].text[0] == c;
  }
  bool atEnd(bool in_group) const {
    return pos_ == tokens_.size() || atSpecial(',') || (in_group && atSpecial(';'));
  }

  // address *("," address): stops at the end, or before ';' inside a group.
  bool list(bool in_group) {
    while (true) {
      if (!address(in_group)) return false;
      if (pos_ == tokens_.size()) return !in_group;
      if (in_group && atSpecial(';')) return true;
      if (!atSpecial(',')) return false;
      ++pos_;
    }
  }

  bool address(bool in_group) {
    const std::size_t start = pos_;
    while (pos_ < tokens_.size() && tokens_[pos_].kind != Kind::Special)
      ++pos_;
    const std::size_t words = pos_ - start;
    if (atEnd(in_group)) return words == 0;  // an empty element (obsolete syntax) or a bare name
    if (atSpecial('<')) {
      ++pos_;
      return angleAddr();
    }
    if (atSpecial('@')) return localPartWords(start, pos_) && addrSpecDomain();
    if (atSpecial(':') && !in_group && words > 0) {
      ++pos_;
      if (!list(true) || !atSpecial(';')) return false;
      ++pos_;
      return true;
    }
    return false;
  }

  bool localPartWords(std::size_t begin, std::size_t end) const {
    return begin < end && std::all_of(tokens_.begin() + static_cast<std::ptrdiff_t>(begin),
                                      tokens_.begin() + static_cast<std::ptrdiff_t>(end),
                                      [](const Token& t) { return t.kind != Kind::Literal; });
  }

  // At '@' after a local-part: the domain.
  bool addrSpecDomain() {
    ++pos_;
    if (pos_ == tokens_.size()) return false;
    std::optional<std::string> domain = domainOf(tokens_[pos_]);
    if (!domain) return false;
    domains_.push_back(std::move(*domain));
    ++pos_;
    return true;
  }

  // After '<': [obs-route] addr-spec '>'.
  bool angleAddr() {
    if (atSpecial('@')) {  // "@relay1,@relay2:" routes are read and dropped
      while (pos_ < tokens_.size() && !atSpecial(':'))
        ++pos_;
      if (pos_ == tokens_.size()) return false;
      ++pos_;
    }
    const std::size_t start = pos_;
    while (pos_ < tokens_.size() && tokens_[pos_].kind != Kind::Special)
      ++pos_;
    if (!atSpecial('@') || !localPartWords(start, pos_) || !addrSpecDomain()) return false;
    if (!atSpecial('>')) return false;
    ++pos_;
    return true;
  }

  const std::vector<Token>& tokens_;
  std::size_t pos_ = 0;
  std::vector<std::string> domains_;
};

}  // namespace

std::vector<HeaderField> headerFields(std::string_view message) {
  std::vector<HeaderField> fields;
  bool open = false;  // the last line belongs to fields.back()
  std::size_t value_begin = 0;
  for (std::size_t pos = 0; pos < message.size();) {
    const std::size_t eol = message.find('\n', pos);
    const std::size_t next = eol == std::string_view::npos ? message.size() : eol + 1;
    std::size_t content_end = eol == std::string_view::npos ? message.size() : eol;
    if (content_end > pos && message[content_end - 1] == '\r') --content_end;
    const std::string_view line = message.substr(pos, content_end - pos);
    if (line.empty()) break;
    if (isWsp(line.front())) {
      if (open) {
        fields.back().end = next;
        fields.back().value = message.substr(value_begin, content_end - value_begin);
      }
    } else {
      const std::size_t colon = line.find(':');
      std::string_view name = line.substr(0, colon == std::string_view::npos ? 0 : colon);
      while (!name.empty() && isWsp(name.back()))
        name.remove_suffix(1);
      // A line that is not a field ends the header section, as the backend reads it
      // (Postfix's cleanup does the same): nothing after it is a header.
      if (colon == std::string_view::npos || !validFieldName(name)) break;
      open = true;
      value_begin = pos + colon + 1;
      fields.push_back(
          HeaderField{name, message.substr(value_begin, content_end - value_begin), pos, next});
    }
    pos = next;
  }
  return fields;
}

std::optional<std::vector<std::string>> mailboxDomains(std::string_view value) {
  const std::optional<std::vector<Token>> tokens = tokenize(value);
  if (!tokens) return std::nullopt;
  return AddressParser(*tokens).run();
}

FromDomain fromDomain(std::string_view message) {
  FromDomain result;
  std::string_view first;
  for (const HeaderField& field : headerFields(message)) {
    if (!base::equalsIgnoreCase(field.name, "from")) continue;
    if (result.fields++ == 0) first = field.value;
  }
  if (result.fields == 0) return result;
  if (result.fields > 1) {
    result.status = FromStatus::MultipleFields;
    return result;
  }
  std::optional<std::vector<std::string>> domains = mailboxDomains(first);
  if (!domains || domains->empty()) {
    result.status = FromStatus::Unparseable;
    return result;
  }
  result.domains = std::move(*domains);
  const bool one_domain = std::all_of(result.domains.begin(), result.domains.end(),
                                      [&](const std::string& d) { return d == result.domains[0]; });
  result.status = result.domains.size() == 1 ? FromStatus::Ok : FromStatus::MultipleMailboxes;
  if (one_domain) result.domain = result.domains[0];
  return result;
}

}  // namespace spamgate::auth
