// HTML to text for the "body" view: a single forward scan, no tree. Tags are dropped, text
// between them kept with entities decoded; line structure comes from the tags only (source
// line breaks are spaces, as a browser shows them).
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "mime/detail.h"

namespace spamgate::mime::detail {
namespace {

struct NamedEntity {
  std::string_view name;
  std::uint32_t code;
};

// The entities seen in mail; others stay as written.
constexpr std::array<NamedEntity, 40> kEntities{{
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},      {"apos", '\''},
    {"nbsp", ' '},     {"copy", 0xA9},    {"reg", 0xAE},     {"trade", 0x2122},  {"euro", 0x20AC},
    {"pound", 0xA3},   {"yen", 0xA5},     {"cent", 0xA2},    {"sect", 0xA7},     {"deg", 0xB0},
    {"plusmn", 0xB1},  {"middot", 0xB7},  {"bull", 0x2022},  {"hellip", 0x2026}, {"ndash", 0x2013},
    {"mdash", 0x2014}, {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C},  {"rdquo", 0x201D},
    {"laquo", 0xAB},   {"raquo", 0xBB},   {"times", 0xD7},   {"divide", 0xF7},   {"shy", 0xAD},
    {"zwnj", 0x200C},  {"zwj", 0x200D},   {"eacute", 0xE9},  {"egrave", 0xE8},   {"agrave", 0xE0},
    {"aacute", 0xE1},  {"uuml", 0xFC},    {"ouml", 0xF6},    {"auml", 0xE4},     {"szlig", 0xDF},
}};

void appendCodePoint(std::string& out, std::uint32_t code) {
  if (code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) code = 0xFFFD;
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

bool parseNumber(std::string_view digits, int base, std::uint32_t& value) {
  if (digits.empty() || digits.size() > 8) return false;
  value = 0;
  for (char c : digits) {
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (base == 16 && c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (base == 16 && c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0) return false;
    value = value * static_cast<std::uint32_t>(base) + static_cast<std::uint32_t>(digit);
  }
  return true;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

// `&...;` at `pos` decoded into `out`; returns the position after it, or `pos` if none.
std::size_t decodeEntityAt(std::string_view html, std::size_t pos, std::string& out) {
  const std::size_t limit = std::min(html.size(), pos + 12);
  std::size_t end = pos + 1;
  while (end < limit && (isAlnum(html[end]) || html[end] == '#'))
    ++end;
  const std::string_view name = html.substr(pos + 1, end - pos - 1);
  if (!appendEntity(out, name)) return pos;
  return end < html.size() && html[end] == ';' ? end + 1 : end;
}

std::string decodeEntities(std::string_view text) {
  std::string out;
  for (std::size_t pos = 0; pos < text.size();) {
    if (text[pos] == '&') {
      const std::size_t next = decodeEntityAt(text, pos, out);
      if (next != pos) {
        pos = next;
        continue;
      }
    }
    out += text[pos++];
  }
  return out;
}

enum class Effect { kNone, kLine, kParagraph, kSpace, kSkipContent };

Effect effectOf(std::string_view name) {
  static constexpr std::array<std::string_view, 27> kParagraph{
      "p",     "div",  "table",      "tr",      "ul",      "ol",     "li",     "dl",     "dt",
      "dd",    "h1",   "h2",         "h3",      "h4",      "h5",     "h6",     "hr",     "pre",
      "title", "form", "blockquote", "section", "article", "header", "footer", "center", "tbody"};
  if (name == "br") return Effect::kLine;
  if (name == "td" || name == "th") return Effect::kSpace;
  if (name == "script" || name == "style") return Effect::kSkipContent;
  if (std::find(kParagraph.begin(), kParagraph.end(), name) != kParagraph.end()) {
    return Effect::kParagraph;
  }
  return Effect::kNone;
}

class Renderer {
 public:
  explicit Renderer(std::string_view html) : html_(html) {}

  HtmlText run() {
    while (pos_ < html_.size()) {
      const char c = html_[pos_];
      if (c == '<') {
        markup();
      } else if (c == '&') {
        const std::size_t next = decodeEntityAt(html_, pos_, result_.text);
        if (next == pos_) result_.text += html_[pos_++];
        pos_ = std::max(pos_, next);
      } else {
        result_.text += isSpace(c) ? ' ' : c;
        ++pos_;
      }
    }
    return std::move(result_);
  }

 private:
  void skipPast(std::string_view end) {
    const auto found = html_.find(end, pos_);
    pos_ = found == std::string_view::npos ? html_.size() : found + end.size();
  }

  void markup() {
    const std::string_view rest = html_.substr(pos_);
    if (rest.starts_with("<!--")) return skipPast("-->");
    if (rest.starts_with("<!") || rest.starts_with("<?")) return skipPast(">");
    std::size_t p = pos_ + 1;
    const bool closing = p < html_.size() && html_[p] == '/';
    if (closing) ++p;
    std::string name;
    if (p < html_.size() && isAlpha(html_[p])) {
      while (p < html_.size() && isAlnum(html_[p]) && name.size() < 16)
        name += lower(html_[p++]);
    }
    if (name.empty()) {  // a '<' not followed by a letter is text
      result_.text += html_[pos_++];
      return;
    }
    pos_ = p;
    attributes();
    apply(effectOf(name), closing, name);
  }

  void apply(Effect effect, bool closing, const std::string& name) {
    switch (effect) {
      case Effect::kLine:
        result_.text += '\n';
        break;
      case Effect::kParagraph:
        result_.text += "\n\n";
        break;
      case Effect::kSpace:
        result_.text += ' ';
        break;
      case Effect::kSkipContent:
        if (!closing) skipContent(name);
        break;
      case Effect::kNone:
        break;
    }
  }

  // Up to the end of `</name`, case-insensitively, then past its '>'.
  void skipContent(const std::string& name) {
    const std::string end = "</" + name;
    while (pos_ < html_.size()) {
      const auto found = html_.find("</", pos_);
      if (found == std::string_view::npos) break;
      pos_ = found + 2;
      const std::string_view candidate = html_.substr(found, end.size());
      if (std::equal(candidate.begin(), candidate.end(), end.begin(), end.end(),
                     [](char a, char b) { return lower(a) == b; })) {
        return skipPast(">");
      }
    }
    pos_ = html_.size();
  }

  // Attributes up to and past the closing '>'; href, src and action values are kept.
  void attributes() {
    while (pos_ < html_.size()) {
      const char c = html_[pos_];
      if (c == '>') {
        ++pos_;
        return;
      }
      if (isSpace(c) || c == '/' || c == '"' || c == '\'' || c == '=') {
        ++pos_;
        continue;
      }
      attribute();
    }
  }

  void attribute() {
    std::string name;
    while (pos_ < html_.size() && !isSpace(html_[pos_]) && html_[pos_] != '=' &&
           html_[pos_] != '>' && html_[pos_] != '/') {
      name += lower(html_[pos_++]);
    }
    while (pos_ < html_.size() && isSpace(html_[pos_]))
      ++pos_;
    if (pos_ >= html_.size() || html_[pos_] != '=') return;
    ++pos_;
    while (pos_ < html_.size() && isSpace(html_[pos_]))
      ++pos_;
    const std::string_view value = attributeValue();
    if (name == "href" || name == "src" || name == "action") {
      result_.links.push_back(decodeEntities(value));
    }
  }

  std::string_view attributeValue() {
    if (pos_ >= html_.size()) return {};
    const char quote = html_[pos_];
    if (quote == '"' || quote == '\'') {
      const std::size_t start = pos_ + 1;
      const auto end = html_.find(quote, start);
      pos_ = end == std::string_view::npos ? html_.size() : end + 1;
      return html_.substr(start, std::min(end, html_.size()) - start);
    }
    const std::size_t start = pos_;
    while (pos_ < html_.size() && !isSpace(html_[pos_]) && html_[pos_] != '>')
      ++pos_;
    return html_.substr(start, pos_ - start);
  }

  std::string_view html_;
  std::size_t pos_ = 0;
  HtmlText result_;
};

}  // namespace

bool appendEntity(std::string& out, std::string_view name) {
  std::uint32_t code = 0;
  if (name.size() > 1 && name[0] == '#') {
    const bool hex = name[1] == 'x' || name[1] == 'X';
    if (!parseNumber(name.substr(hex ? 2 : 1), hex ? 16 : 10, code)) return false;
    appendCodePoint(out, code);
    return true;
  }
  for (const NamedEntity& entity : kEntities) {
    if (entity.name == name) {
      appendCodePoint(out, entity.code);
      return true;
    }
  }
  return false;
}

HtmlText renderHtml(std::string_view html) {
  return Renderer(html).run();
}

}  // namespace spamgate::mime::detail
