// Scanning one message: regex rules run lazily (only when reported or needed by a meta, once
// each), metas in dependency order, every match under the set's match and depth limits.
#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/ascii.h"
#include "rules/internal.h"

namespace spamgate::rules {
namespace {

using detail::HeaderSource;
using detail::HeaderSpec;
using detail::HeaderView;
using detail::Kind;
using detail::Node;
using detail::Rule;

bool isLimit(int rc) {
  return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
         rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT;
}

// The PCRE2 state of a thread, made once and reused by every scan on it: one match data, one
// match context with the limits (set per scan: rule sets may differ), one JIT stack.
class Matcher {
 public:
  static Matcher& forThread(const LoadOptions& options) {
    thread_local Matcher matcher;
    pcre2_set_match_limit(matcher.context_, options.match_limit);
    pcre2_set_depth_limit(matcher.context_, options.depth_limit);
    return matcher;
  }
  ~Matcher() {
    pcre2_jit_stack_free(stack_);
    pcre2_match_context_free(context_);
    pcre2_match_data_free(data_);
  }
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // False only when `code` surely does not match `subject` (a limit counts as a match).
  bool mayMatch(const pcre2_code* code, std::string_view subject) {
    auto text = reinterpret_cast<PCRE2_SPTR>(subject.data());
    return pcre2_match(code, text, subject.size(), 0, 0, data_, context_) != PCRE2_ERROR_NOMATCH;
  }

  // Matches of `rule` in `subject`, up to `most`; false when a limit stopped the search.
  bool count(const Rule& rule, std::string_view subject, unsigned most, unsigned& found) {
    auto text = reinterpret_cast<PCRE2_SPTR>(subject.data());
    const pcre2_code* code = rule.re.get();
    PCRE2_SIZE offset = 0;
    while (found < most && offset <= subject.size()) {
      int rc = rule.jit ? pcre2_jit_match(code, text, subject.size(), offset, 0, data_, context_)
                        : pcre2_match(code, text, subject.size(), offset, 0, data_, context_);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) return !isLimit(rc);
      ++found;
      const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data_);
      offset = ovector[1] > ovector[0] ? ovector[1] : ovector[0] + 1;
    }
    return true;
  }

 private:
  Matcher()
      : data_(pcre2_match_data_create(1, nullptr)),
        context_(pcre2_match_context_create(nullptr)),
        stack_(pcre2_jit_stack_create(32 * 1024, 1024 * 1024, nullptr)) {
    if (stack_ != nullptr) pcre2_jit_stack_assign(context_, nullptr, stack_);
  }

  pcre2_match_data* data_;
  pcre2_match_context* context_;
  pcre2_jit_stack* stack_;
};

// Which required literals each text of the message holds, found when a rule first asks.
class LiteralsFound {
 public:
  explicit LiteralsFound(const RuleSet& set) : set_(set) {}

  // False when `rule` cannot match: its text holds none of its required literals.
  template <class Text>  // Text: () -> the text of the rule's kind, a string or string_view
  bool mayMatch(const Rule& rule, const Text& text) {
    if (rule.literal_ids.empty()) return true;
    const auto kind = static_cast<std::size_t>(rule.kind);
    if (!done_[kind]) {
      set_.literals[kind].find(text(), found_[kind]);
      done_[kind] = true;
    }
    return std::any_of(rule.literal_ids.begin(), rule.literal_ids.end(),
                       [&](uint32_t id) { return found_[kind][id] != 0; });
  }

 private:
  static constexpr std::size_t kKinds = static_cast<std::size_t>(Kind::Meta);
  const RuleSet& set_;
  std::array<bool, kKinds> done_{};
  std::array<std::vector<uint8_t>, kKinds> found_;
};

class Scanner {
 public:
  Scanner(const RuleSet& set, const mime::Message& message, std::string_view full,
          const std::vector<std::string>& external, ScanResult& result)
      : set_(set),
        message_(message),
        full_(full),
        result_(result),
        matcher_(Matcher::forThread(set.options)),
        literals_(set),
        values_(set.rules.size(), -1),
        external_(set.externals.size(), 0) {
    for (const std::string& name : external) {
      if (auto it = set.external_index.find(name); it != set.external_index.end()) {
        external_[it->second] = 1;
      }
    }
  }

  void run() {
    for (uint32_t meta : set_.meta_order)
      values_[meta] = evaluateMeta(set_.rules[meta]);
    for (uint32_t i = 0; i < set_.rules.size(); ++i) {
      const Rule& rule = set_.rules[i];
      if (!rule.reported) continue;
      int count = value(i);
      if (count <= 0) continue;
      double score = rule.score * count;
      result_.hits.push_back({rule.name, score, rule.description, static_cast<unsigned>(count)});
      result_.score += score;
    }
  }

 private:
  int value(uint32_t index) {
    if (values_[index] < 0) values_[index] = evaluateLeaf(set_.rules[index]);
    return values_[index];
  }

  int evaluateMeta(const Rule& rule) {
    auto leaf = [this](const Node& node) -> double {
      if (node.external) return external_[node.ref];
      return value(node.ref);
    };
    return detail::evaluate(rule.meta, leaf) != 0 ? 1 : 0;
  }

  int evaluateLeaf(const Rule& rule) {
    if (rule.kind == Kind::Meta) return evaluateMeta(rule);  // a meta outside meta_order
    if (rule.kind == Kind::Header && rule.header.exists) return hasField(rule.header);
    unsigned most = rule.multiple ? (rule.maxhits > 0 ? rule.maxhits : detail::kMaxMultiple) : 1;
    unsigned found = 0;
    bool complete = true;
    switch (rule.kind) {
      case Kind::Header:
        complete = matcher_.count(rule, headerText(rule.header), most, found);
        break;
      case Kind::Body:
        complete = matchText(rule, message_.body, most, found);
        break;
      case Kind::Rawbody:
        complete = matchText(rule, message_.rawbody, most, found);
        break;
      case Kind::Full:
        complete = matchText(rule, full_, most, found);
        break;
      case Kind::Uri:
        if (!literals_.mayMatch(rule, [this] { return joinedUris(); })) break;
        for (const std::string& uri : message_.uris) {
          if (found >= most || !complete) break;
          complete = matcher_.count(rule, uri, most, found);
        }
        break;
      case Kind::Meta:
        break;
    }
    if (!complete) {
      ++result_.limit_hits;
      result_.limited_rules.push_back(rule.name);
      return 0;
    }
    if (rule.kind == Kind::Header && rule.header.negate) return found == 0 ? 1 : 0;
    return static_cast<int>(found);
  }

  bool matchText(const Rule& rule, std::string_view text, unsigned most, unsigned& found) {
    if (!literals_.mayMatch(rule, [text] { return text; })) return true;
    if (rule.literal_ids.empty() && rule.prefilter &&
        !matcher_.mayMatch(rule.prefilter.get(), text))
      return true;
    return matcher_.count(rule, text, most, found);
  }

  // The URIs, one a line: a literal found here may span two of them (the regex then decides).
  std::string joinedUris() const {
    std::string out;
    for (const std::string& uri : message_.uris) {
      out += uri;
      out += '\n';
    }
    return out;
  }

  // SpamAssassin's pseudo-fields ToCc and MESSAGEID gather these fields, field by field.
  static std::vector<std::string_view> fieldsOf(const HeaderSpec& spec) {
    switch (spec.source) {
      case HeaderSource::ToCc:
        return {"To", "Cc"};
      case HeaderSource::MessageId:
        return {"X-Message-Id", "Resent-Message-Id", "X-Original-Message-ID", "Message-Id"};
      case HeaderSource::Field:
      case HeaderSource::All:
        break;
    }
    return {spec.field};
  }

  // The headers a spec reads, in the order SpamAssassin joins them.
  std::vector<const mime::Header*> sourceHeaders(const HeaderSpec& spec) const {
    std::vector<const mime::Header*> out;
    if (spec.source == HeaderSource::All) {
      for (const mime::Header& h : message_.headers)
        out.push_back(&h);
      return out;
    }
    for (std::string_view field : fieldsOf(spec)) {
      for (const mime::Header& h : message_.headers) {
        // MESSAGEID leaves out empty values, as SpamAssassin does.
        if (spec.source == HeaderSource::MessageId && h.raw.empty()) continue;
        if (base::equalsIgnoreCase(h.name, field)) out.push_back(&h);
      }
    }
    return out;
  }

  int hasField(const HeaderSpec& spec) const { return sourceHeaders(spec).empty() ? 0 : 1; }

  const std::string& headerText(const HeaderSpec& spec) {
    std::string key{static_cast<char>('0' + static_cast<int>(spec.view)),
                    static_cast<char>('0' + static_cast<int>(spec.source))};
    for (char c : spec.field)
      key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [it, added] = headers_.try_emplace(std::move(key));
    if (added) it->second = composeHeader(spec);
    if (!it->second && spec.if_unset) return *spec.if_unset;
    static const std::string kEmpty;
    return it->second ? *it->second : kEmpty;
  }

  std::optional<std::string> composeHeader(const HeaderSpec& spec) const {
    bool raw = spec.view == HeaderView::Raw;
    bool all = spec.source == HeaderSource::All;
    std::optional<std::string> out;
    for (const mime::Header* h : sourceHeaders(spec)) {
      if (spec.view == HeaderView::Addr || spec.view == HeaderView::Name) {
        for (const mime::Mailbox& box : mime::mailboxes(h->raw)) {
          const std::string& part = spec.view == HeaderView::Addr ? box.address : box.name;
          if (spec.view == HeaderView::Addr && part.empty()) continue;
          return part;
        }
        continue;
      }
      if (!out) out.emplace();
      if (all) *out += h->name + ": ";
      *out += raw ? h->raw : h->decoded;
      *out += '\n';
    }
    return out;
  }

  const RuleSet& set_;
  const mime::Message& message_;
  std::string_view full_;
  ScanResult& result_;
  Matcher& matcher_;
  LiteralsFound literals_;
  std::vector<int> values_;
  std::vector<int> external_;
  std::unordered_map<std::string, std::optional<std::string>> headers_;
};

}  // namespace

ScanResult scan(const RuleSet& rules, const mime::Message& message, std::string_view full,
                const std::vector<std::string>& external) {
  ScanResult result;
  Scanner(rules, message, full, external, result).run();
  return result;
}

std::size_t ruleCount(const RuleSet& rules) {
  return rules.rules.size();
}

}  // namespace spamgate::rules
