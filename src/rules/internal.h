// Internals of the rules module shared by its files: the compiled rule, the expression tree
// used by metas and `if` lines, the regex front end. Not part of the public face.
#pragma once

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rules/rules.h"

namespace spamgate::rules::detail {

enum class Kind : uint8_t { Header, Body, Rawbody, Uri, Full, Meta };
std::string_view kindName(Kind kind);
bool isRegexKind(Kind kind);

// --- regex.cpp ---------------------------------------------------------------------------

struct CodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
using Code = std::unique_ptr<pcre2_code, CodeDeleter>;

// "/re/flags" or "m{re}flags" (any non-word delimiter; (), {}, [], <> nest) at the start of
// `text`: the pattern between the delimiters as written, the flags, and what follows.
struct Delimited {
  std::string pattern;
  std::string flags;
  std::string_view rest;
};
std::optional<Delimited> splitDelimited(std::string_view text, std::string& error);

// Compiles with PCRE2 (flags i m s x; `extra` options added), JIT when asked. On failure:
// null and `error` = "bad regex: <PCRE2 message> at offset N" or "bad regex flags 'q'".
Code compileRegex(const Delimited& re, uint32_t extra, bool jit, std::string& error);

// --- literal.cpp -------------------------------------------------------------------------

// Strings, lower-cased, one of which every match of the pattern contains (so a text whose
// lower-cased form holds none of them cannot match); empty when no such set of strings of
// kMinLiteral bytes or more is found. Conservative: syntax it does not know gives empty.
inline constexpr std::size_t kMinLiteral = 3;
std::vector<std::string> requiredLiterals(std::string_view pattern, std::string_view flags,
                                          uint32_t extra);

// The pattern without its leading items that may match empty (\b, ^, x?, (?:\s|\b),
// lookarounds...): wherever the pattern matches, this matches too, and PCRE2 finds its start
// quicker. Empty when nothing can be dropped safely (back references, option settings,
// top-level alternatives, syntax the reader does not know).
std::string prefilterPattern(std::string_view pattern, std::string_view flags, uint32_t extra);

// --- literal_set.cpp ---------------------------------------------------------------------

// Which of a fixed set of lower-cased literals (kMinLiteral bytes or more) a text holds,
// compared ASCII-case-insensitively (as PCRE2 folds case without UTF), in one pass.
class LiteralSet {
 public:
  uint32_t add(const std::string& literal);  // its id: the same literal, the same id
  std::size_t size() const { return literals_.size(); }
  // found[id] = 1 for every literal in `text`, 0 for the others.
  void find(std::string_view text, std::vector<uint8_t>& found) const;

 private:
  std::vector<std::string> literals_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<uint64_t> filter_ = std::vector<uint64_t>(1024);  // 65536 bits, by first 3 bytes
  std::unordered_map<uint32_t, std::vector<uint32_t>> by_window_;
};

// --- meta.cpp ----------------------------------------------------------------------------

enum class Op : uint8_t {
  Number,
  Name,
  Call,
  Not,
  Neg,
  Mul,
  Div,
  Add,
  Sub,
  Lt,
  Gt,
  Le,
  Ge,
  Eq,
  Ne,
  And,
  Or
};

struct Node {
  Op op = Op::Number;
  double number = 0;
  std::string name;  // Name: the identifier; Call: "function(argument)" split in two
  std::string arg;   // Call: the argument
  int32_t lhs = -1;  // child indices into Expression::nodes
  int32_t rhs = -1;
  uint32_t ref = 0;  // Name, once resolved: rule index, or external index
  bool external = false;
};

struct Expression {
  std::vector<Node> nodes;
  int32_t root = -1;
};

inline constexpr int kMaxExpressionDepth = 64;

// Parses a meta expression (calls refused) or an `if` condition (calls allowed).
std::optional<Expression> parseExpression(std::string_view text, bool allow_calls,
                                          std::string& error);

// Evaluates with `leaf(node)` giving Name and Call values. && and || short-circuit and
// give 1 or 0, as do ! and comparisons; division by zero gives 0.
template <class Leaf>
double evaluate(const Expression& e, int32_t index, Leaf& leaf) {
  const Node& n = e.nodes[static_cast<std::size_t>(index)];
  auto lhs = [&] { return evaluate(e, n.lhs, leaf); };
  auto rhs = [&] { return evaluate(e, n.rhs, leaf); };
  switch (n.op) {
    case Op::Number:
      return n.number;
    case Op::Name:
    case Op::Call:
      return leaf(n);
    case Op::Not:
      return lhs() == 0 ? 1 : 0;
    case Op::Neg:
      return -lhs();
    case Op::Mul:
      return lhs() * rhs();
    case Op::Div: {
      double d = rhs();
      return d == 0 ? 0 : lhs() / d;
    }
    case Op::Add:
      return lhs() + rhs();
    case Op::Sub:
      return lhs() - rhs();
    case Op::Lt:
      return lhs() < rhs() ? 1 : 0;
    case Op::Gt:
      return lhs() > rhs() ? 1 : 0;
    case Op::Le:
      return lhs() <= rhs() ? 1 : 0;
    case Op::Ge:
      return lhs() >= rhs() ? 1 : 0;
    case Op::Eq:
      return lhs() == rhs() ? 1 : 0;
    case Op::Ne:
      return lhs() != rhs() ? 1 : 0;
    case Op::And:
      return lhs() != 0 && rhs() != 0 ? 1 : 0;
    case Op::Or:
      return lhs() != 0 || rhs() != 0 ? 1 : 0;
  }
  return 0;
}

template <class Leaf>
double evaluate(const Expression& e, Leaf& leaf) {
  return e.root < 0 ? 0 : evaluate(e, e.root, leaf);
}

// --- the compiled set ----------------------------------------------------------------------

// Field: the named field; the others are SpamAssassin's pseudo-fields ALL, ToCc, MESSAGEID.
enum class HeaderSource : uint8_t { Field, All, ToCc, MessageId };
enum class HeaderView : uint8_t { Decoded, Raw, Addr, Name };

struct HeaderSpec {
  std::string field;
  HeaderSource source = HeaderSource::Field;
  HeaderView view = HeaderView::Decoded;
  bool exists = false;  // exists:Field (or exists:ToCc, ...)
  bool negate = false;  // !~
  std::optional<std::string> if_unset;
};

struct Rule {
  std::string name;
  Kind kind = Kind::Body;
  std::string file;
  unsigned line = 0;
  HeaderSpec header;
  Code re;
  std::string pattern;  // as written, kept for ReplaceTags
  std::string flags;
  uint32_t extra_options = 0;
  bool jit = false;                   // JIT-compiled: matched with pcre2_jit_match
  std::vector<std::string> literals;  // requiredLiterals(): a scan without any skips `re`
  std::vector<uint32_t> literal_ids;  // the same in RuleSet::literals[kind], for needed rules
  Code prefilter;                     // from prefilterPattern(): no match, no need to run `re`
  Expression meta;
  double score = 0;
  std::string description;
  bool multiple = false;
  unsigned maxhits = 0;
  bool reported = false;  // scored: not __, score != 0
  bool needed = false;    // runs at scan: reported, or a needed meta depends on it
};

inline constexpr unsigned kMaxMultiple = 1000;

}  // namespace spamgate::rules::detail

namespace spamgate::rules {

class RuleSet {
 public:
  std::vector<detail::Rule> rules;
  std::vector<uint32_t> meta_order;  // needed metas, dependencies first
  std::vector<std::string> externals;
  std::unordered_map<std::string, uint32_t> external_index;
  // The required literals of the needed body, rawbody, full and uri rules, by kind.
  std::array<detail::LiteralSet, static_cast<std::size_t>(detail::Kind::Meta)> literals;
  LoadOptions options;
};

}  // namespace spamgate::rules
