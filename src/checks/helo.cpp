#include "checks/helo.h"

#include <algorithm>
#include <string>

namespace spamgate::checks {

namespace {

constexpr std::size_t kMaxName = 255;  // RFC 1035 2.3.4, octets
constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxDetail = 100;  // octets of the HELO value kept in the log

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

// RFC 5321 sub-domain: Let-dig [Ldh-str], at most 63 octets.
bool validLabel(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabel) return false;
  if (!isAlnum(label.front()) || !isAlnum(label.back())) return false;
  return std::all_of(label.begin(), label.end(), [](char c) { return isAlnum(c) || c == '-'; });
}

bool allDigits(std::string_view label) {
  return std::all_of(label.begin(), label.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Fills `form` for a domain name; leaves it Invalid when `text` is not one.
void classifyDomain(std::string_view text, HeloForm& form) {
  if (text.empty() || text.size() > kMaxName) return;
  std::size_t labels = 0;
  std::string_view last;
  for (std::size_t start = 0;;) {
    const std::size_t dot = text.find('.', start);
    last = text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!validLabel(last)) return;  // also an empty label: "a..b", ".a", "a."
    ++labels;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (allDigits(last)) return;  // RFC 3696 2: a top-level label is never all-numeric
  form.kind = HeloForm::Kind::Domain;
  form.fqdn = labels > 1;
}

// Fills `form` for "[a.b.c.d]" or "[IPv6:...]"; leaves it Invalid otherwise.
void classifyLiteral(std::string_view inner, HeloForm& form) {
  constexpr std::string_view kTag = "IPv6:";
  const bool tagged =
      inner.size() > kTag.size() && equalsIgnoreCase(inner.substr(0, kTag.size()), kTag);
  if (tagged) inner.remove_prefix(kTag.size());
  // Untagged must be IPv4, tagged must be IPv6 syntax (RFC 5321 4.1.3).
  const bool colons = inner.find(':') != std::string_view::npos;
  if (colons != tagged) return;
  form.address = parseIpAddress(inner);
  if (form.address) form.kind = HeloForm::Kind::Literal;
}

std::string truncated(std::string_view helo) {
  return std::string(helo.substr(0, kMaxDetail));
}

}  // namespace

HeloForm classifyHelo(std::string_view helo) {
  HeloForm form;
  if (helo.size() > kMaxName + 2) return form;  // bracketed literals are short anyway
  if (helo.size() >= 2 && helo.front() == '[' && helo.back() == ']') {
    classifyLiteral(helo.substr(1, helo.size() - 2), form);
  } else if (auto address = parseIpAddress(helo)) {
    form.kind = HeloForm::Kind::BareIp;
    form.address = address;
  } else {
    classifyDomain(helo, form);
  }
  return form;
}

std::vector<policy::Symbol> HeloCheck::evaluate(std::string_view helo, std::string_view client_ip,
                                                std::string_view hostname) const {
  std::vector<policy::Symbol> symbols;
  auto add = [&](const char* name, double score) {
    symbols.push_back(policy::Symbol{name, score, truncated(helo)});
  };
  const HeloForm form = classifyHelo(helo);
  switch (form.kind) {
    case HeloForm::Kind::Invalid:
      add("HELO_INVALID", settings_.invalid_score);
      break;
    case HeloForm::Kind::BareIp:
      add("HELO_BARE_IP", settings_.bare_ip_score);
      break;
    case HeloForm::Kind::Literal:
      // A client address we cannot parse (not from a socket) never matches.
      if (form.address != parseIpAddress(client_ip)) {
        add("HELO_IP_MISMATCH", settings_.ip_mismatch_score);
      }
      break;
    case HeloForm::Kind::Domain:
      if (!hostname.empty() && equalsIgnoreCase(helo, hostname)) {
        add("HELO_CLAIMS_US", settings_.claims_us_score);
      }
      if (!form.fqdn) add("HELO_NOT_FQDN", settings_.not_fqdn_score);
      break;
  }
  return symbols;
}

std::unique_ptr<pipeline::PendingCheck> HeloCheck::start(pipeline::Stage,
                                                         const pipeline::Context& context,
                                                         pipeline::CheckDone done) {
  done(pipeline::CheckResult{evaluate(context.helo, context.client_ip, context.hostname), {}});
  return nullptr;
}

}  // namespace spamgate::checks
