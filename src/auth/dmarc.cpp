#include "auth/dmarc.h"

#include <libpsl.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <utility>

#include "base/ascii.h"

namespace spamgate::auth {

namespace {

constexpr std::size_t kMaxDkimShown = 4;  // signatures named in the detail

std::string lowered(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), base::asciiLower);
  return out;
}

std::string_view trimmed(std::string_view text) {
  const auto wsp = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && wsp(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && wsp(text.back()))
    text.remove_suffix(1);
  return text;
}

std::optional<DmarcPolicy> policyValue(std::string_view value) {
  if (base::equalsIgnoreCase(value, "none")) return DmarcPolicy::None;
  if (base::equalsIgnoreCase(value, "quarantine")) return DmarcPolicy::Quarantine;
  if (base::equalsIgnoreCase(value, "reject")) return DmarcPolicy::Reject;
  return std::nullopt;
}

std::optional<unsigned> percentValue(std::string_view value) {
  if (value.empty() || value.size() > 3) return std::nullopt;
  unsigned number = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + static_cast<unsigned>(c - '0');
  }
  if (number > 100) return std::nullopt;
  return number;
}

// "r" or "s": true for strict; nullopt otherwise.
std::optional<bool> alignmentValue(std::string_view value) {
  if (base::equalsIgnoreCase(value, "s")) return true;
  if (base::equalsIgnoreCase(value, "r")) return false;
  return std::nullopt;
}

// A DMARC URI list with at least one "scheme:rest" element (RFC 3986 scheme syntax).
bool hasValidUri(std::string_view value) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    const std::string_view uri = trimmed(value.substr(0, comma));
    const std::size_t colon = uri.find(':');
    const auto scheme_char = [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
    };
    if (colon != std::string_view::npos && colon > 0 && colon + 1 < uri.size() &&
        std::isalpha(static_cast<unsigned char>(uri[0])) != 0 &&
        std::all_of(uri.begin(), uri.begin() + static_cast<std::ptrdiff_t>(colon), scheme_char)) {
      return true;
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

struct Tag {
  std::string_view name;
  std::string_view value;
};

std::vector<Tag> splitTags(std::string_view text) {
  std::vector<Tag> tags;
  while (true) {
    const std::size_t semicolon = text.find(';');
    const std::string_view part = trimmed(text.substr(0, semicolon));
    const std::size_t equals = part.find('=');
    if (!part.empty()) {
      tags.push_back(equals == std::string_view::npos
                         ? Tag{part, {}}
                         : Tag{trimmed(part.substr(0, equals)), trimmed(part.substr(equals + 1))});
    }
    if (semicolon == std::string_view::npos) return tags;
    text.remove_prefix(semicolon + 1);
  }
}

const psl_ctx_t* publicSuffixes() {
  static const psl_ctx_t* const context = []() -> const psl_ctx_t* {
    if (const psl_ctx_t* latest = psl_latest(nullptr); latest != nullptr) return latest;
    return psl_builtin();
  }();
  return context;
}

unsigned defaultRoll() {
  thread_local std::mt19937 generator{std::random_device{}()};
  return std::uniform_int_distribution<unsigned>(0, 99)(generator);
}

bool isNegative(dns::Status status) {
  return status == dns::Status::NxDomain || status == dns::Status::NoData ||
         status == dns::Status::BadName;
}

}  // namespace

DmarcRecordParse parseDmarcRecord(std::string_view text) {
  DmarcRecordParse parse;
  const std::vector<Tag> tags = splitTags(text);
  if (tags.empty() || !base::equalsIgnoreCase(tags[0].name, "v") || tags[0].value != "DMARC1")
    return parse;
  std::optional<std::string_view> p, sp, pct, adkim, aspf, rua;
  const std::pair<const char*, std::optional<std::string_view>*> known[] = {
      {"p", &p}, {"sp", &sp}, {"pct", &pct}, {"adkim", &adkim}, {"aspf", &aspf}, {"rua", &rua}};
  for (std::size_t i = 1; i < tags.size(); ++i) {
    for (const auto& [name, slot] : known) {
      if (base::equalsIgnoreCase(tags[i].name, name) && !slot->has_value()) *slot = tags[i].value;
    }
  }
  DmarcRecord& record = parse.record;
  const std::optional<DmarcPolicy> policy = p ? policyValue(*p) : std::nullopt;
  const std::optional<DmarcPolicy> subdomain = sp ? policyValue(*sp) : std::nullopt;
  if (!policy || (sp && !subdomain)) {
    if (!rua || !hasValidUri(*rua)) {
      parse.status = DmarcRecordStatus::Invalid;
      parse.error = !p        ? "no p tag"
                    : !policy ? "invalid p=" + std::string(*p)
                              : "invalid sp=" + std::string(*sp);
      return parse;
    }
    record.policy = DmarcPolicy::None;  // 6.6.3 step 6: act as if p=none
  } else {
    record.policy = *policy;
    record.subdomain_policy = subdomain;
  }
  record.pct = pct ? percentValue(*pct).value_or(100) : 100;
  record.strict_dkim = adkim ? alignmentValue(*adkim).value_or(false) : false;
  record.strict_spf = aspf ? alignmentValue(*aspf).value_or(false) : false;
  parse.status = DmarcRecordStatus::Ok;
  return parse;
}

std::string organizationalDomain(std::string_view domain) {
  const psl_ctx_t* suffixes = publicSuffixes();
  std::string name(domain);
  if (suffixes == nullptr || name.empty()) return name;
  const char* registrable = psl_registrable_domain(suffixes, name.c_str());
  return registrable == nullptr ? name : std::string(registrable);
}

namespace {

// One evaluation: the lookup at the From domain, perhaps at the organizational domain, then
// the alignment checks.
class DmarcEvaluation final : public PendingQuery {
 public:
  DmarcEvaluation(DnsSource& dns, DmarcInput input, std::function<void(DmarcOutcome)> done)
      : dns_(dns),
        input_(std::move(input)),
        done_(std::move(done)),
        org_domain_(organizationalDomain(input_.from_domain)) {
    outcome_.from_domain = input_.from_domain;
  }

  void ask(const std::string& domain) {
    asked_ = domain;
    query_ = dns_.query("_dmarc." + domain, dns::Type::TXT,
                        [this](dns::Result result) { onAnswer(std::move(result)); });
  }

 private:
  void onAnswer(dns::Result result);
  void apply(const DmarcRecord& record);
  bool aligned(const std::string& domain, bool strict) const;
  std::string spfDetail(bool strict) const;
  std::string dkimDetail(bool strict) const;
  void finish(DmarcResult result, std::string detail);

  DnsSource& dns_;
  DmarcInput input_;
  std::function<void(DmarcOutcome)> done_;
  std::string org_domain_;
  std::string asked_;  // the domain whose _dmarc name is being asked
  std::unique_ptr<PendingQuery> query_;
  DmarcOutcome outcome_;
};

void DmarcEvaluation::onAnswer(dns::Result result) {
  const std::string name = "_dmarc." + asked_;
  if (result.status != dns::Status::Ok && !isNegative(result.status)) {
    return finish(DmarcResult::TempError,
                  name + ": " + std::string(dns::statusName(result.status)));
  }
  std::vector<DmarcRecordParse> records;
  for (const std::string& text : result.records) {
    DmarcRecordParse parse = parseDmarcRecord(text);
    if (parse.status != DmarcRecordStatus::NotDmarc) records.push_back(std::move(parse));
  }
  if (records.empty()) {
    if (asked_ == input_.from_domain && org_domain_ != asked_) return ask(org_domain_);
    return finish(DmarcResult::None, "no DMARC record at " + name);
  }
  outcome_.policy_domain = asked_;
  if (records.size() > 1) {
    return finish(DmarcResult::None, std::to_string(records.size()) + " DMARC records at " + name);
  }
  if (records[0].status == DmarcRecordStatus::Invalid) {
    return finish(DmarcResult::PermError, name + ": " + records[0].error);
  }
  apply(records[0].record);
}

void DmarcEvaluation::apply(const DmarcRecord& record) {
  const bool from_subdomain = asked_ != input_.from_domain;
  outcome_.policy =
      from_subdomain && record.subdomain_policy ? *record.subdomain_policy : record.policy;
  outcome_.spf_aligned = input_.spf && input_.spf->result == SpfResult::Pass &&
                         aligned(input_.spf->domain, record.strict_spf);
  outcome_.dkim_aligned =
      std::any_of(input_.dkim.begin(), input_.dkim.end(), [&](const DkimSignatureOutcome& sig) {
        return sig.result == DkimResult::Pass && aligned(sig.domain, record.strict_dkim);
      });
  const bool pass = outcome_.spf_aligned || outcome_.dkim_aligned;
  // Not aligned, but an identifier that could have aligned is unknown for now (a key lookup
  // that timed out, a full worker queue, SPF DNS trouble): the answer may be pass later, so
  // no permanent verdict from a passing DNS hiccup (p=none has no verdict to give anyway).
  const bool undecided =
      !pass && outcome_.policy != DmarcPolicy::None &&
      ((input_.spf && input_.spf->result == SpfResult::TempError &&
        aligned(input_.spf->domain, record.strict_spf)) ||
       std::any_of(input_.dkim.begin(), input_.dkim.end(), [&](const DkimSignatureOutcome& sig) {
         return sig.result == DkimResult::TempError && aligned(sig.domain, record.strict_dkim);
       }));
  std::string detail = "_dmarc." + asked_ + " " +
                       (from_subdomain && record.subdomain_policy ? "sp=" : "p=") +
                       std::string(dmarcPolicyName(outcome_.policy));
  if (record.pct < 100) detail += " pct=" + std::to_string(record.pct);
  detail += "; " + spfDetail(record.strict_spf) + "; " + dkimDetail(record.strict_dkim);
  if (undecided) {
    return finish(DmarcResult::TempError, detail + "; an aligned identifier had a temporary error");
  }
  if (!pass && record.pct < 100) {
    const unsigned roll = input_.roll ? input_.roll() : defaultRoll();
    outcome_.sampled_out = roll >= record.pct;
    if (outcome_.sampled_out) detail += "; sampled out";
  }
  finish(pass ? DmarcResult::Pass : DmarcResult::Fail, std::move(detail));
}

bool DmarcEvaluation::aligned(const std::string& domain, bool strict) const {
  const std::string name = lowered(domain);
  if (name == input_.from_domain) return true;
  return !strict && !name.empty() && organizationalDomain(name) == org_domain_;
}

std::string DmarcEvaluation::spfDetail(bool strict) const {
  if (!input_.spf) return "spf none";
  if (input_.spf->result != SpfResult::Pass) {
    return "spf " + std::string(spfResultName(input_.spf->result));
  }
  return "spf pass " + input_.spf->domain +
         (outcome_.spf_aligned ? " aligned"
          : strict             ? " not aligned (strict)"
                               : " not aligned");
}

std::string DmarcEvaluation::dkimDetail(bool strict) const {
  std::string detail;
  std::size_t shown = 0;
  for (const DkimSignatureOutcome& sig : input_.dkim) {
    if (sig.result != DkimResult::Pass) continue;
    const bool ok = aligned(sig.domain, strict);
    if (outcome_.dkim_aligned && !ok) continue;  // name the aligned one only
    if (shown++ == kMaxDkimShown) break;
    detail += (detail.empty() ? "dkim pass d=" : ", d=") + sig.domain;
  }
  if (detail.empty()) return "dkim: no passing signature";
  return detail + (outcome_.dkim_aligned ? " aligned"
                   : strict              ? " not aligned (strict)"
                                         : " not aligned");
}

// `done` may destroy this object: nothing touches a member after it.
void DmarcEvaluation::finish(DmarcResult result, std::string detail) {
  query_.reset();
  outcome_.result = result;
  outcome_.detail = std::move(detail);
  auto done = std::move(done_);
  done(std::move(outcome_));
}

}  // namespace

std::unique_ptr<PendingQuery> evaluateDmarc(DnsSource& dns, DmarcInput input,
                                            std::function<void(DmarcOutcome)> done) {
  if (input.from_domain.empty()) {
    DmarcOutcome outcome;
    outcome.result = DmarcResult::PermError;
    outcome.detail = "no From domain";
    done(std::move(outcome));
    return nullptr;
  }
  input.from_domain = lowered(input.from_domain);
  const std::string from = input.from_domain;
  auto evaluation = std::make_unique<DmarcEvaluation>(dns, std::move(input), std::move(done));
  evaluation->ask(from);
  return evaluation;
}

}  // namespace spamgate::auth
