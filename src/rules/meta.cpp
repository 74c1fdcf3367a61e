// Meta expressions and `if` conditions: a recursive-descent parser with Perl's precedence
// (unary ! - ; * / ; + - ; < > <= >= ; == != ; && ; ||), bounded in depth.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "rules/internal.h"

namespace spamgate::rules::detail {
namespace {

inline constexpr int kMaxTreeDepth = 256;

class Parser {
 public:
  Parser(std::string_view text, bool allow_calls) : text_(text), allow_calls_(allow_calls) {}

  std::optional<Expression> run(std::string& error) {
    skipSpace();
    if (at_ >= text_.size()) return fail("empty expression", error);
    int32_t root = parseOr(0);
    skipSpace();
    if (root >= 0 && at_ < text_.size()) {
      error_ = "unexpected '" + std::string(text_.substr(at_, 1)) + "' at column " +
               std::to_string(at_ + 1);
    }
    if (!error_.empty()) return fail(error_, error);
    out_.root = root;
    return std::move(out_);
  }

 private:
  std::optional<Expression> fail(std::string message, std::string& error) {
    error = std::move(message);
    return std::nullopt;
  }

  void skipSpace() {
    while (at_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[at_])) != 0)
      ++at_;
  }

  bool take(std::string_view token) {
    skipSpace();
    if (text_.substr(at_, token.size()) != token) return false;
    // "<" must not eat the start of "<=", "!" not the start of "!=".
    if (token.size() == 1 && at_ + 1 < text_.size() && text_[at_ + 1] == '=' &&
        (token == "<" || token == ">" || token == "!")) {
      return false;
    }
    at_ += token.size();
    return true;
  }

  int32_t add(Node node) {
    int depth = 1 + std::max(depthOf(node.lhs), depthOf(node.rhs));
    if (depth > kMaxTreeDepth && error_.empty()) error_ = "expression too deep";
    out_.nodes.push_back(std::move(node));
    depths_.push_back(depth);
    return static_cast<int32_t>(out_.nodes.size() - 1);
  }

  int depthOf(int32_t index) const {
    return index < 0 ? 0 : depths_[static_cast<std::size_t>(index)];
  }

  int32_t binary(Op op, int32_t lhs, int32_t rhs) {
    if (lhs < 0 || rhs < 0 || !error_.empty()) return -1;
    Node node;
    node.op = op;
    node.lhs = lhs;
    node.rhs = rhs;
    return add(std::move(node));
  }

  struct Level {
    std::string_view token;
    Op op;
  };

  template <std::size_t N, class Next>
  int32_t parseLevel(int nesting, const Level (&levels)[N], Next next) {
    int32_t lhs = next(nesting);
    while (lhs >= 0 && error_.empty()) {
      const Level* found = nullptr;
      for (const Level& level : levels) {
        if (take(level.token)) {
          found = &level;
          break;
        }
      }
      if (found == nullptr) break;
      lhs = binary(found->op, lhs, next(nesting));
    }
    return lhs;
  }

  int32_t parseOr(int nesting) {
    static constexpr Level kLevels[] = {{"||", Op::Or}};
    return parseLevel(nesting, kLevels, [this](int n) { return parseAnd(n); });
  }
  int32_t parseAnd(int nesting) {
    static constexpr Level kLevels[] = {{"&&", Op::And}};
    return parseLevel(nesting, kLevels, [this](int n) { return parseEquality(n); });
  }
  int32_t parseEquality(int nesting) {
    static constexpr Level kLevels[] = {{"==", Op::Eq}, {"!=", Op::Ne}};
    return parseLevel(nesting, kLevels, [this](int n) { return parseRelation(n); });
  }
  int32_t parseRelation(int nesting) {
    static constexpr Level kLevels[] = {
        {"<=", Op::Le}, {">=", Op::Ge}, {"<", Op::Lt}, {">", Op::Gt}};
    return parseLevel(nesting, kLevels, [this](int n) { return parseSum(n); });
  }
  int32_t parseSum(int nesting) {
    static constexpr Level kLevels[] = {{"+", Op::Add}, {"-", Op::Sub}};
    return parseLevel(nesting, kLevels, [this](int n) { return parseProduct(n); });
  }
  int32_t parseProduct(int nesting) {
    static constexpr Level kLevels[] = {{"*", Op::Mul}, {"/", Op::Div}};
    return parseLevel(nesting, kLevels, [this](int n) { return parseUnary(n); });
  }

  int32_t parseUnary(int nesting) {
    if (nesting > kMaxExpressionDepth) {
      if (error_.empty()) error_ = "expression nested too deeply";
      return -1;
    }
    Op op;
    if (take("!")) {
      op = Op::Not;
    } else if (take("-")) {
      op = Op::Neg;
    } else if (take("+")) {
      return parseUnary(nesting + 1);
    } else {
      return parsePrimary(nesting);
    }
    int32_t operand = parseUnary(nesting + 1);
    if (operand < 0) return -1;
    Node node;
    node.op = op;
    node.lhs = operand;
    return add(std::move(node));
  }

  int32_t parsePrimary(int nesting) {
    skipSpace();
    if (take("(")) {
      int32_t inner = parseOr(nesting + 1);
      if (inner >= 0 && !take(")")) return expected("')'");
      return inner;
    }
    if (at_ >= text_.size()) return expected("a rule name or a number");
    char c = text_[at_];
    if (std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.') return parseNumber();
    if (std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_') return parseName();
    return expected("a rule name or a number");
  }

  int32_t expected(std::string_view what) {
    if (error_.empty()) {
      error_ = "expected " + std::string(what) + " at column " + std::to_string(at_ + 1);
    }
    return -1;
  }

  int32_t parseNumber() {
    std::size_t end = at_;
    while (end < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[end])) != 0 || text_[end] == '.')) {
      ++end;
    }
    Node node;
    auto [ptr, ec] = std::from_chars(text_.data() + at_, text_.data() + end, node.number);
    if (ec != std::errc() || ptr != text_.data() + end) return expected("a number");
    at_ = end;
    return add(std::move(node));
  }

  int32_t parseName() {
    std::size_t end = at_;
    while (end < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[end])) != 0 || text_[end] == '_')) {
      ++end;
    }
    Node node;
    node.op = Op::Name;
    node.name = std::string(text_.substr(at_, end - at_));
    at_ = end;
    if (allow_calls_ && take("(")) {
      std::size_t close = text_.find(')', at_);
      if (close == std::string_view::npos) return expected("')'");
      node.op = Op::Call;
      node.arg = std::string(text_.substr(at_, close - at_));
      at_ = close + 1;
    }
    return add(std::move(node));
  }

  std::string_view text_;
  bool allow_calls_;
  std::size_t at_ = 0;
  std::string error_;
  Expression out_;
  std::vector<int> depths_;
};

}  // namespace

std::optional<Expression> parseExpression(std::string_view text, bool allow_calls,
                                          std::string& error) {
  return Parser(text, allow_calls).run(error);
}

}  // namespace spamgate::rules::detail
