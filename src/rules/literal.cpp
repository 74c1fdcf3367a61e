// Required literals of a PCRE2 pattern, read conservatively: any syntax this reader does not
// know for certain gives "nothing known", never a literal a match could lack.
#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "base/ascii.h"
#include "rules/internal.h"

namespace spamgate::rules::detail {
namespace {

constexpr std::size_t kMaxAlternatives = 16;

// A match contains at least one string of `any` (lower-cased); empty: nothing known.
struct Need {
  std::vector<std::string> any;
  bool nullable = false;  // may match the empty string

  std::size_t shortest() const {
    std::size_t n = any.empty() ? 0 : any.front().size();
    for (const std::string& s : any)
      n = std::min(n, s.size());
    return n;
  }
  bool betterThan(const Need& other) const {
    if (shortest() != other.shortest()) return shortest() > other.shortest();
    return !any.empty() && any.size() < other.any.size();
  }
};

// One atom: a literal byte, a group (what it needs), or an opaque item (class, assertion...).
struct Item {
  std::optional<char> literal;
  Need group;
  bool zero_width = false;  // an assertion: ^ $ \b, a lookaround, a comment
  bool anchor = false;      // ^ or \A: PCRE2 tries only where it holds, keep it
};

struct Quantifier {
  bool present = false;
  unsigned min = 1;
};

class Reader {
 public:
  explicit Reader(std::string_view pattern) : p_(pattern) {}

  std::optional<Need> read() {
    Need need = alternation();
    if (failed_ || at_ != p_.size()) return std::nullopt;
    return need;
  }

  // Where the first top-level item that cannot match empty begins, when no setting, back
  // reference or top-level '|' makes dropping the items before it unsafe.
  std::optional<std::size_t> coreStart() {
    std::size_t start = 0;
    bool nullable = true;
    while (nullable && !failed_ && at_ < p_.size() && p_[at_] != '|') {
      start = at_;
      Item item = atom();
      if (item.anchor) return std::nullopt;
      nullable = itemNullable(item, quantifier());
    }
    if (nullable || start == 0) return std::nullopt;
    sequence();
    if (failed_ || barrier_ || at_ != p_.size()) return std::nullopt;
    return start;
  }

 private:
  // Branches up to an unmatched ')' or the end: known only if every branch is.
  Need alternation() {
    Need all;
    bool known = true;
    bool nullable = false;
    while (!failed_) {
      Need branch = sequence();
      nullable = nullable || branch.nullable;
      known = known && !branch.any.empty();
      if (known) all.any.insert(all.any.end(), branch.any.begin(), branch.any.end());
      if (at_ >= p_.size() || p_[at_] != '|') break;
      ++at_;
    }
    if (!known || all.any.size() > kMaxAlternatives) all.any.clear();
    all.nullable = nullable;
    return all;
  }

  Need sequence() {
    Need best;
    bool nullable = true;
    std::string run;
    auto flush = [&] {
      consider(best, Need{{run}});
      run.clear();
    };
    while (!failed_ && at_ < p_.size() && p_[at_] != '|' && p_[at_] != ')') {
      Item item = atom();
      Quantifier q = quantifier();
      nullable = nullable && itemNullable(item, q);
      if (item.literal && q.min >= 1) run += base::asciiLower(*item.literal);
      if (!item.literal || q.present) flush();
      if (q.min >= 1) consider(best, std::move(item.group));
    }
    flush();
    best.nullable = nullable;
    return best;
  }

  static bool itemNullable(const Item& item, Quantifier q) {
    return q.min == 0 || item.zero_width || item.group.nullable;
  }

  static void consider(Need& best, Need candidate) {
    if (candidate.shortest() > 0 && candidate.betterThan(best)) best = std::move(candidate);
  }

  Item atom() {
    Item item;
    char c = p_[at_++];
    switch (c) {
      case '\\':
        escape(item);
        break;
      case '[':
        skipClass();
        break;
      case '(':
        item.group = groupBody(item.zero_width);
        break;
      case '^':
      case '$':
        item.zero_width = true;
        item.anchor = c == '^';
        break;
      case '.':
        break;
      case '*':
      case '+':
      case '?':
      case '{':
        failed_ = true;
        break;
      default:
        item.literal = c;
    }
    return item;
  }

  void escape(Item& item) {
    std::optional<char>& literal = item.literal;
    if (at_ >= p_.size()) {
      failed_ = true;
      return;
    }
    char e = p_[at_++];
    if (std::isalnum(static_cast<unsigned char>(e)) == 0) {
      literal = e;
      return;
    }
    if (std::isdigit(static_cast<unsigned char>(e)) != 0) {  // back reference or octal
      barrier_ = true;
      while (at_ < p_.size() && std::isdigit(static_cast<unsigned char>(p_[at_])) != 0)
        ++at_;
      return;
    }
    static constexpr std::string_view kAssertion = "bBAzZ";
    static constexpr std::string_view kOpaque = "sSdDwWhHvVRX";
    static constexpr std::string_view kControl = "ntrfea";
    static constexpr std::string_view kControlValue = "\n\t\r\f\x1b\a";
    item.zero_width = kAssertion.find(e) != std::string_view::npos;
    item.anchor = e == 'A';
    if (item.zero_width || kOpaque.find(e) != std::string_view::npos) return;
    if (auto i = kControl.find(e); i != std::string_view::npos) {
      literal = kControlValue[i];
    } else if (e == 'x') {
      hexByte(literal);
    } else {
      failed_ = true;  // \Q \E \c \o \N \p \g \k \K ...: not read
    }
  }

  void hexByte(std::optional<char>& literal) {
    bool braced = at_ < p_.size() && p_[at_] == '{';
    if (braced) ++at_;
    unsigned value = 0;
    std::size_t digits = 0;
    while (at_ < p_.size() && (braced || digits < 2) &&
           std::isxdigit(static_cast<unsigned char>(p_[at_])) != 0) {
      char h = base::asciiLower(p_[at_++]);
      value = value * 16 + static_cast<unsigned>(h <= '9' ? h - '0' : h - 'a' + 10);
      if (++digits > 2) break;
    }
    if (braced && (at_ >= p_.size() || p_[at_++] != '}')) failed_ = true;
    if (value > 0xff || (braced && digits == 0)) failed_ = true;
    literal = static_cast<char>(value);
  }

  void skipClass() {
    if (at_ < p_.size() && p_[at_] == '^') ++at_;
    if (at_ < p_.size() && p_[at_] == ']') ++at_;
    while (!failed_ && at_ < p_.size() && p_[at_] != ']') {
      char c = p_[at_++];
      if (c == '[') skipPosix();
      if (c == '\\' && at_ < p_.size() && (p_[at_] == 'Q' || p_[at_] == 'E')) failed_ = true;
      if (c == '\\') ++at_;
    }
    if (at_ >= p_.size()) failed_ = true;
    ++at_;
  }

  // After '[' in a class: [:name:] (also [.x.], [=x=]) as PCRE2 reads it, else a plain '['.
  void skipPosix() {
    if (at_ >= p_.size() || std::string_view(":.=").find(p_[at_]) == std::string_view::npos) return;
    const char end = p_[at_];
    for (std::size_t i = at_ + 1; i + 1 < p_.size(); ++i) {
      if (p_[i] == '\\' || p_[i] == '[') break;
      if (p_[i] == ']') return;
      if (p_[i] == end && p_[i + 1] == ']') {
        at_ = i + 2;
        return;
      }
    }
    failed_ = true;
  }

  // After '(': a group's need; lookarounds, comments and option settings need nothing and
  // are zero-width.
  Need groupBody(bool& zero_width) {
    bool opaque = false;
    if (at_ < p_.size() && p_[at_] == '*') failed_ = true;  // (*VERB)
    if (at_ < p_.size() && p_[at_] == '?') opaque = groupPrefix();
    zero_width = opaque;
    if (failed_) return {};
    Need inner = alternation();
    if (at_ >= p_.size() || p_[at_] != ')') failed_ = true;
    ++at_;
    if (opaque) return {};
    return inner;
  }

  // Reads what follows "(?"; true when the group matches no required text of its own.
  bool groupPrefix() {
    std::string_view rest = p_.substr(at_ + 1);
    auto take = [&](std::string_view prefix) {
      if (!rest.starts_with(prefix)) return false;
      at_ += 1 + prefix.size();
      return true;
    };
    if (take(":") || take(">") || take("|")) return false;
    if (take("=") || take("!") || take("<=") || take("<!")) return true;
    if (take("#")) {
      while (at_ < p_.size() && p_[at_] != ')')
        ++at_;
      return true;
    }
    if (take("<") || take("P<") || take("'")) return namedGroup();
    return optionSetting();
  }

  bool namedGroup() {
    while (at_ < p_.size() &&
           (std::isalnum(static_cast<unsigned char>(p_[at_])) != 0 || p_[at_] == '_'))
      ++at_;
    if (at_ >= p_.size() || (p_[at_] != '>' && p_[at_] != '\'')) failed_ = true;
    ++at_;
    return false;
  }

  // (?i) (?-s) (?i:...): option letters but x (extended syntax changes what a literal is).
  // True for a setting alone, "(?i)", left at its ')'.
  // A setting alone changes the rest of the pattern: no item before it may be dropped.
  bool optionSetting() {
    ++at_;
    while (at_ < p_.size() && (std::isalpha(static_cast<unsigned char>(p_[at_])) != 0 ||
                               p_[at_] == '-' || p_[at_] == '^')) {
      if (std::string_view("imnsJU-^").find(p_[at_]) == std::string_view::npos) failed_ = true;
      ++at_;
    }
    if (at_ < p_.size() && p_[at_] == ')') {
      barrier_ = true;
      return true;
    }
    if (at_ >= p_.size() || p_[at_] != ':') failed_ = true;
    ++at_;
    return false;
  }

  Quantifier quantifier() {
    Quantifier q;
    if (at_ >= p_.size()) return q;
    char c = p_[at_];
    if (c == '*' || c == '?' || c == '+') {
      ++at_;
      q = {true, c == '+' ? 1u : 0u};
    } else if (c == '{') {
      q = braces();
    }
    if (q.present && at_ < p_.size() && (p_[at_] == '?' || p_[at_] == '+')) ++at_;
    return q;
  }

  // {n} {n,} {n,m}; anything else after an atom is not read.
  Quantifier braces() {
    std::size_t i = at_ + 1;
    unsigned min = 0;
    std::size_t digits = 0;
    while (i < p_.size() && std::isdigit(static_cast<unsigned char>(p_[i])) != 0 && digits < 6) {
      min = min * 10 + static_cast<unsigned>(p_[i++] - '0');
      ++digits;
    }
    if (i < p_.size() && p_[i] == ',') ++i;
    while (i < p_.size() && std::isdigit(static_cast<unsigned char>(p_[i])) != 0)
      ++i;
    if (digits == 0 || i >= p_.size() || p_[i] != '}') {
      failed_ = true;
      return {};
    }
    at_ = i + 1;
    return {true, min};
  }

  std::string_view p_;
  std::size_t at_ = 0;
  bool failed_ = false;
  bool barrier_ = false;  // a back reference or an option setting: keep every item
};

}  // namespace

std::vector<std::string> requiredLiterals(std::string_view pattern, std::string_view flags,
                                          uint32_t extra) {
  // UTF mode folds case beyond ASCII; x mode changes what a literal is.
  if ((extra & (PCRE2_UTF | PCRE2_EXTENDED | PCRE2_EXTENDED_MORE | PCRE2_LITERAL)) != 0 ||
      flags.find('x') != std::string_view::npos)
    return {};
  std::optional<Need> need = Reader(pattern).read();
  if (!need || need->shortest() < kMinLiteral) return {};
  return std::move(need->any);
}

}  // namespace spamgate::rules::detail

namespace spamgate::rules::detail {

std::string prefilterPattern(std::string_view pattern, std::string_view flags, uint32_t extra) {
  if ((extra & (PCRE2_EXTENDED | PCRE2_EXTENDED_MORE | PCRE2_LITERAL)) != 0 ||
      flags.find('x') != std::string_view::npos || !Reader(pattern).read())
    return {};
  std::optional<std::size_t> start = Reader(pattern).coreStart();
  return start ? std::string(pattern.substr(*start)) : std::string();
}

}  // namespace spamgate::rules::detail
