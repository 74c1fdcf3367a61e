#include "auth/spf_dns.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <strings.h>

extern "C" {
#include <spf2/spf.h>
}

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dns/names.h"

namespace spamgate::auth::spf_internal {

namespace {

SpfDnsLayer* layerOf(SPF_dns_server_t* server) {
  return static_cast<SpfDnsLayer*>(server->hook);
}

std::optional<dns::Type> typeOf(ns_type type) {
  switch (type) {
    case ns_t_a:
      return dns::Type::A;
    case ns_t_aaaa:
      return dns::Type::AAAA;
    case ns_t_mx:
      return dns::Type::MX;
    case ns_t_ptr:
      return dns::Type::PTR;
    case ns_t_txt:
      return dns::Type::TXT;
    default:
      return std::nullopt;  // the SPF type (99): RFC 7208 section 3.1, never asked
  }
}

bool setText(SPF_dns_rr_t* rr, int index, const std::string& text) {
  if (SPF_dns_rr_buf_realloc(rr, index, text.size() + 1) != SPF_E_SUCCESS) return false;
  std::memcpy(rr->rr[index]->txt, text.c_str(), text.size() + 1);
  return true;
}

// One record in libspf2's form; false if it cannot be (an unparsable address, null MX).
bool addRecord(SPF_dns_rr_t* rr, int index, dns::Type type, const std::string& record) {
  switch (type) {
    case dns::Type::A: {
      in_addr address{};
      if (inet_pton(AF_INET, record.c_str(), &address) != 1) return false;
      if (SPF_dns_rr_buf_realloc(rr, index, sizeof(SPF_dns_rr_data_t)) != SPF_E_SUCCESS) {
        return false;
      }
      rr->rr[index]->a = address;
      return true;
    }
    case dns::Type::AAAA: {
      in6_addr address{};
      if (inet_pton(AF_INET6, record.c_str(), &address) != 1) return false;
      if (SPF_dns_rr_buf_realloc(rr, index, sizeof(SPF_dns_rr_data_t)) != SPF_E_SUCCESS) {
        return false;
      }
      rr->rr[index]->aaaa = address;
      return true;
    }
    case dns::Type::MX: {
      const auto space = record.find(' ');
      const std::string exchange =
          dns::foldName(space == std::string::npos ? "" : record.substr(space + 1));
      return !exchange.empty() && setText(rr, index, exchange);
    }
    case dns::Type::PTR:
      return setText(rr, index, dns::foldName(record));
    case dns::Type::TXT:
      return setText(rr, index, record);
  }
  return false;
}

SPF_dns_rr_t* makeRr(SPF_dns_server_t* server, const char* domain, ns_type type,
                     SPF_dns_stat_t herrno) {
  return SPF_dns_rr_new_init(server, domain, type, 0, herrno);
}

// Strips our marker: the flags it carried ("m", "mz", "z"), or "" when there was none.
std::string takeMarker(std::string& name) {
  if (name.rfind(kMarker, 0) != 0) return "";
  const std::size_t dot = name.find('.');
  if (dot == std::string::npos) return "";
  std::string flags = name.substr(kMarker.size(), dot - kMarker.size());
  name.erase(0, dot + 1);
  return flags;
}

bool isReverseName(const std::string& name) {
  auto ends = [&](std::string_view suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".in-addr.arpa") || ends(".ip6.arpa");
}

SPF_dns_rr_t* onLookup(SPF_dns_server_t* server, const char* domain, ns_type ns, int) {
  SpfDnsLayer& layer = *layerOf(server);
  const std::optional<dns::Type> type = typeOf(ns);
  if (!type) return makeRr(server, domain, ns, NO_DATA);
  std::string name = dns::foldName(domain);
  const std::string flags = takeMarker(name);
  const bool any_address = flags.find('z') != std::string::npos;
  const bool dns_term =
      flags.find('m') != std::string::npos || (*type == dns::Type::PTR && isReverseName(name));
  if (dns_term && !layer.countDnsTerm()) return makeRr(server, domain, ns, TRY_AGAIN);
  if (!isLookupName(name)) return makeRr(server, domain, ns, HOST_NOT_FOUND);
  const bool address = *type == dns::Type::A || *type == dns::Type::AAAA;
  const SpfDnsLayer::Answer answer =
      layer.ask(name, *type, address && layer.ptr_names.count(name) > 0);
  switch (answer.kind) {
    case SpfDnsLayer::Answer::Missing:
      return makeRr(server, domain, ns, NO_DATA);
    case SpfDnsLayer::Answer::Error:
      // A PTR name that does not resolve is skipped (RFC 7208 5.5), not a temperror.
      if (address && layer.ptr_names.count(name) > 0) return makeRr(server, domain, ns, NO_DATA);
      return makeRr(server, domain, ns, TRY_AGAIN);
    case SpfDnsLayer::Answer::NxDomain:
    case SpfDnsLayer::Answer::NoData:
      // Only a term's own lookup can be void (4.6.4), not the address lookups of its MX hosts
      // or PTR names. Past the limit: stop libspf2 (TRY_AGAIN) and report permerror instead.
      if (dns_term && !layer.countVoid(name)) return makeRr(server, domain, ns, TRY_AGAIN);
      return makeRr(server, domain, ns,
                    answer.kind == SpfDnsLayer::Answer::NoData ? NO_DATA : HOST_NOT_FOUND);
    case SpfDnsLayer::Answer::Records:
      break;
  }
  SPF_dns_rr_t* rr = makeRr(server, domain, ns, NETDB_SUCCESS);
  int count = 0;
  if (address && any_address) {
    if (addRecord(rr, count, *type, layer.client())) ++count;
  } else {
    for (const std::string& record : answer.result->records) {
      if (*type == dns::Type::PTR && static_cast<std::size_t>(count) == kMaxPtrNames) break;
      std::string text = record;
      if (*type == dns::Type::MX && any_address) {
        const auto space = text.find(' ');
        if (space != std::string::npos) text.insert(space + 1, std::string(kMarker) + "z.");
      }
      if (addRecord(rr, count, *type, text)) ++count;
      if (*type == dns::Type::PTR) layer.ptr_names.insert(dns::foldName(record));
    }
  }
  rr->num_rr = count;
  if (count == 0) rr->herrno = NO_DATA;
  return rr;
}

SPF_errcode_t notSpf(SPF_response_t* response) {
  response->result = SPF_RESULT_NONE;
  response->reason = SPF_REASON_FAILURE;
  return SPF_E_NOT_SPF;
}

// Record selection (RFC 7208 4.5) and our syntax checks, then libspf2's compiler.
SPF_errcode_t onGetSpf(SPF_server_t* server, SPF_request_t* request, SPF_response_t* response,
                       SPF_record_t** recordp) {
  *recordp = nullptr;
  SpfDnsLayer& layer = *layerOf(server->resolver);
  const bool top = layer.firstRecordLookup();
  if (!top && !layer.countDnsTerm()) return SPF_E_DNS_ERROR;  // include, redirect
  const std::string name = dns::foldName(request->cur_dom != nullptr ? request->cur_dom : "");
  if (!isLookupName(name)) {
    if (top) layer.setTopNone("not a domain name: " + name);
    return notSpf(response);
  }
  const SpfDnsLayer::Answer answer = layer.ask(name, dns::Type::TXT);
  if (answer.kind == SpfDnsLayer::Answer::Missing || answer.kind == SpfDnsLayer::Answer::Error) {
    return SPF_E_DNS_ERROR;
  }
  std::vector<const std::string*> found;
  if (answer.kind == SpfDnsLayer::Answer::Records) {
    for (const std::string& text : answer.result->records) {
      if (isSpfRecord(text)) found.push_back(&text);
    }
  }
  if (found.empty()) {
    if (top) layer.setTopNone("no SPF record for " + name);
    return notSpf(response);
  }
  if (found.size() > 1) {
    layer.force(SpfResult::PermError, "multiple SPF records for " + name);
    return SPF_E_MULTIPLE_RECORDS;
  }
  std::string problem;
  const std::optional<std::string> text = prepareRecord(*found.front(), layer.clientV6(), problem);
  if (!text) {
    layer.force(SpfResult::PermError, name + ": " + problem);
    return SPF_E_SYNTAX;
  }
  const SPF_errcode_t err = SPF_record_compile(server, response, recordp, text->c_str());
  if (err != SPF_E_SUCCESS) {
    layer.force(SpfResult::PermError, name + ": " + SPF_strerror(err));
    if (*recordp != nullptr) SPF_record_free(*recordp);
    *recordp = nullptr;
  }
  return err;
}

// exp= is not fetched: explanations are not worth a DNS lookup to a receiver that only logs.
SPF_errcode_t onGetExp(SPF_server_t*, const char*, char** bufp, size_t* buflenp) {
  constexpr char kText[] = "see the sender's SPF record";
  if (*buflenp < sizeof(kText)) {
    char* grown = static_cast<char*>(std::realloc(*bufp, sizeof(kText)));
    if (grown == nullptr) return SPF_E_NO_MEMORY;
    *bufp = grown;
    *buflenp = sizeof(kText);
  }
  std::memcpy(*bufp, kText, sizeof(kText));
  return SPF_E_SUCCESS;
}

}  // namespace

SpfDnsLayer::SpfDnsLayer(const Memo& memo, std::string client, bool client_v6)
    : memo_(memo),
      server_(static_cast<SPF_dns_server_t*>(std::calloc(1, sizeof(SPF_dns_server_t)))) {
  client_ = std::move(client);
  client_v6_ = client_v6;
  server_->destroy = nullptr;  // ours: SPF_server_free must leave it alone
  server_->lookup = &onLookup;
  server_->get_spf = &onGetSpf;
  server_->get_exp = &onGetExp;
  server_->name = "spamgate";
  server_->hook = this;
}

SpfDnsLayer::~SpfDnsLayer() {
  std::free(server_);
}

SpfDnsLayer::Answer SpfDnsLayer::ask(const std::string& name, dns::Type type,
                                     bool tolerate_errors) {
  const auto found = memo_.find({name, type});
  if (found == memo_.end()) {
    report_.missing.insert({name, type});
    return {Answer::Missing, nullptr};
  }
  const dns::Result& result = found->second;
  switch (result.status) {
    case dns::Status::Ok:
      return {result.records.empty() ? Answer::NoData : Answer::Records, &result};
    case dns::Status::NoData:
      return {Answer::NoData, &result};
    case dns::Status::NxDomain:
    case dns::Status::BadName:
      return {Answer::NxDomain, &result};
    default:
      if (tolerate_errors) return {Answer::Error, &result};
      report_.dns_errors.push_back(name + " " + std::string(dns::typeName(type)) + ": " +
                                   std::string(dns::statusName(result.status)));
      return {Answer::Error, &result};
  }
}

void SpfDnsLayer::force(SpfResult result, std::string detail) {
  if (report_.forced) return;  // the first error found is the one that ended the evaluation
  report_.forced = result;
  report_.forced_detail = std::move(detail);
}

bool SpfDnsLayer::countVoid(const std::string& name) {
  if (++void_lookups_ <= kMaxVoidLookups) return true;
  force(SpfResult::PermError, "too many void lookups (" + name + ")");
  return false;
}

bool SpfDnsLayer::countDnsTerm() {
  if (++dns_terms_ <= kMaxDnsTerms) return true;
  force(SpfResult::PermError, "more than 10 DNS mechanisms and modifiers");
  return false;
}

void SpfDnsLayer::setTopNone(std::string detail) {
  report_.top_none = true;
  report_.top_none_detail = std::move(detail);
}

}  // namespace spamgate::auth::spf_internal

namespace spamgate::auth::spf_internal {

namespace {

// Calls `label` for each dot-separated label of `name`; false if one is empty or too long.
bool labelsOk(std::string_view name, std::size_t& labels) {
  labels = 0;
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::size_t length = (dot == std::string_view::npos ? name.size() : dot) - start;
    if (length == 0 || length > 63) return false;
    ++labels;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

bool isLookupName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::size_t labels = 0;
  return labelsOk(name, labels);
}

bool isCheckableDomain(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::size_t labels = 0;
  return name.find('[') == std::string_view::npos && labelsOk(name, labels) && labels >= 2;
}

bool isSpfRecord(std::string_view text) {
  constexpr std::string_view kVersion = "v=spf1";
  return text.size() >= kVersion.size() &&
         strncasecmp(text.data(), kVersion.data(), kVersion.size()) == 0 &&
         (text.size() == kVersion.size() || text[kVersion.size()] == ' ');
}

namespace {

bool isAlpha(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}
bool isDigit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// macro-string (RFC 7208 7.1); `explanation` admits the c, r and t letters.
bool isMacroString(std::string_view text, bool explanation) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c < 0x21 || c > 0x7e) return false;
    if (c != '%') continue;
    if (++i == text.size()) return false;
    if (text[i] == '%' || text[i] == '_' || text[i] == '-') continue;
    if (text[i] != '{') return false;
    const std::size_t close = text.find('}', i);
    if (close == std::string_view::npos || close == i + 1) return false;
    const char letter = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i + 1])));
    const std::string_view letters = explanation ? "slodiphvcrt" : "slodiphv";
    if (letters.find(letter) == std::string_view::npos) return false;
    std::size_t j = i + 2;
    while (j < close && isDigit(text[j]))
      ++j;
    if (j < close && (text[j] == 'r' || text[j] == 'R')) ++j;
    while (j < close && std::string_view(".-+,/_=").find(text[j]) != std::string_view::npos)
      ++j;
    if (j != close) return false;
    i = close;
  }
  return true;
}

// toplabel: alphanumerics and inner hyphens, not all digits.
bool isTopLabel(std::string_view label) {
  if (label.empty() || label.front() == '-' || label.back() == '-') return false;
  bool alpha = false;
  for (const char c : label) {
    if (!isAlpha(c) && !isDigit(c) && c != '-') return false;
    alpha = alpha || isAlpha(c) || c == '-';
  }
  return alpha;
}

// domain-spec = macro-string domain-end; domain-end = "." toplabel ["."] / macro-expand.
bool isDomainSpec(std::string_view spec) {
  if (spec.empty() || !isMacroString(spec, false)) return false;
  if (spec.back() == '}') return true;
  if (spec.back() == '.') spec.remove_suffix(1);
  const std::size_t dot = spec.rfind('.');
  return dot != std::string_view::npos && isTopLabel(spec.substr(dot + 1));
}

// "/N" without leading zeros and at most `max`; false if malformed.
bool parseCidr(std::string_view digits, int max, int& out) {
  if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) return false;
  out = 0;
  for (const char c : digits) {
    if (!isDigit(c)) return false;
    out = out * 10 + (c - '0');
  }
  return out <= max;
}

struct Term {
  char qualifier = 0;                // 0 when none was written
  std::string name;                  // lower case
  std::optional<std::string> value;  // after ':' or '='
  std::string cidr;                  // "/24//64" as written (a, mx, ip4, ip6)
  bool modifier = false;
};

std::string lowered(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<Term> parseTerm(std::string_view text) {
  Term term;
  const std::size_t stop = text.find_first_of(":/=");
  if (stop != std::string_view::npos && text[stop] == '=') {
    term.modifier = true;
    term.name = lowered(text.substr(0, stop));
    term.value = std::string(text.substr(stop + 1));
    return term;
  }
  if (!text.empty() && std::string_view("+-~?").find(text[0]) != std::string_view::npos) {
    term.qualifier = text[0];
    text.remove_prefix(1);
  }
  const std::size_t end = text.find_first_of(":/");
  term.name = lowered(text.substr(0, end));
  if (end == std::string_view::npos) return term;
  std::string_view rest = text.substr(end);
  const bool cidr_mech =
      term.name == "a" || term.name == "mx" || term.name == "ip4" || term.name == "ip6";
  if (cidr_mech) {  // the trailing "/N" or "/N//M" or "//M"
    std::size_t cut = rest.size();
    for (int pass = 0; pass < 2; ++pass) {
      std::size_t digits = cut;
      while (digits > 0 && isDigit(rest[digits - 1]))
        --digits;
      if (digits == cut || digits == 0 || rest[digits - 1] != '/') break;
      cut = digits - 1;
      if (cut > 0 && rest[cut - 1] == '/' && pass == 0) {  // "//M": the IPv6 length
        --cut;
      }
    }
    term.cidr = std::string(rest.substr(cut));
    rest = rest.substr(0, cut);
  }
  if (!rest.empty()) {
    if (rest[0] != ':') return std::nullopt;
    term.value = std::string(rest.substr(1));
  }
  return term;
}

// "/N", "//M" or "/N//M" into the two lengths (-1: not given).
bool splitDualCidr(std::string_view cidr, int& v4, int& v6) {
  v4 = v6 = -1;
  if (cidr.empty()) return true;
  const std::size_t dual = cidr.find("//");
  if (dual != std::string_view::npos) {
    if (!parseCidr(cidr.substr(dual + 2), 128, v6)) return false;
    cidr = cidr.substr(0, dual);
  }
  if (cidr.empty()) return true;
  return cidr[0] == '/' && parseCidr(cidr.substr(1), 32, v4);
}

std::string qualified(const Term& term, std::string_view body) {
  std::string out;
  if (term.qualifier != 0) out += term.qualifier;
  return out + std::string(body);
}

// One directive for libspf2, or an error. DNS mechanisms get our marker (see kMarker).
std::optional<std::string> rewriteDirective(const Term& term, bool client_v6,
                                            std::string& problem) {
  const std::string& name = term.name;
  const bool has_value = term.value.has_value();
  if (name == "all") {
    if (has_value || !term.cidr.empty()) return problem = "bad all", std::nullopt;
    return qualified(term, "all");
  }
  if (name == "include" || name == "exists") {
    if (!has_value || !isDomainSpec(*term.value)) return problem = "bad " + name, std::nullopt;
    if (name == "include") return qualified(term, "include:" + *term.value);
    return qualified(term, "exists:" + std::string(kMarker) + "m." + *term.value);
  }
  if (name == "ptr") {
    if (!term.cidr.empty() || (has_value && !isDomainSpec(*term.value))) {
      return problem = "bad ptr", std::nullopt;
    }
    return qualified(term, has_value ? "ptr:" + *term.value : "ptr");
  }
  if (name == "a" || name == "mx") {
    int v4 = -1;
    int v6 = -1;
    if ((has_value && !isDomainSpec(*term.value)) || !splitDualCidr(term.cidr, v4, v6)) {
      return problem = "bad " + name, std::nullopt;
    }
    const int length = client_v6 ? v6 : v4;
    std::string out = name + ":" + std::string(kMarker) + (length == 0 ? "mz." : "m.") +
                      (has_value ? *term.value : "%{d}");
    if (length > 0) out += (client_v6 ? "//" : "/") + std::to_string(length);
    return qualified(term, out);
  }
  if (name == "ip4" || name == "ip6") {
    const bool v6 = name == "ip6";
    int length = -1;
    in6_addr address{};
    if (!has_value || inet_pton(v6 ? AF_INET6 : AF_INET, term.value->c_str(), &address) != 1 ||
        (!term.cidr.empty() && (term.cidr[0] != '/' || term.cidr.rfind("//", 0) == 0 ||
                                !parseCidr(term.cidr.substr(1), v6 ? 128 : 32, length)))) {
      return problem = "bad " + name, std::nullopt;
    }
    if (length != 0) return qualified(term, name + ":" + *term.value + term.cidr);
    // libspf2 rejects "/0": the same set as two halves.
    return v6 ? qualified(term, "ip6:::/1 ") + qualified(term, "ip6:8000::/1")
              : qualified(term, "ip4:0.0.0.0/1 ") + qualified(term, "ip4:128.0.0.0/1");
  }
  problem = "unknown mechanism " + name;
  return std::nullopt;
}

bool isModifierName(std::string_view name) {
  if (name.empty() || !isAlpha(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return isAlpha(c) || isDigit(c) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

std::optional<std::string> prepareRecord(std::string_view text, bool client_v6,
                                         std::string& problem) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      problem = "non-ASCII character in the record";
      return std::nullopt;
    }
  }
  std::vector<std::string> directives;
  std::optional<std::string> redirect;
  bool exp = false;
  bool has_all = false;
  std::size_t position = 6;  // after "v=spf1"
  while (position < text.size()) {
    if (text[position] == ' ') {
      ++position;
      continue;
    }
    const std::size_t end = std::min(text.find(' ', position), text.size());
    const std::string_view word = text.substr(position, end - position);
    position = end;
    const std::optional<Term> term = parseTerm(word);
    if (!term) return problem = "bad term " + std::string(word), std::nullopt;
    if (!term->modifier) {
      const auto directive = rewriteDirective(*term, client_v6, problem);
      if (!directive) return std::nullopt;
      has_all = has_all || term->name == "all";
      directives.push_back(*directive);
      continue;
    }
    const bool known = term->name == "redirect" || term->name == "exp";
    if (!isModifierName(term->name) ||
        (known ? !isDomainSpec(*term->value) : !isMacroString(*term->value, false)) ||
        (term->name == "redirect" && redirect) || (term->name == "exp" && exp)) {
      return problem = "bad modifier " + std::string(word), std::nullopt;
    }
    if (term->name == "redirect") redirect = *term->value;
    exp = exp || term->name == "exp";
  }
  std::string out = "v=spf1";
  for (const std::string& directive : directives)
    out += " " + directive;
  // redirect= is ignored when the record has "all" (RFC 7208 6.1); exp= is not fetched and
  // unknown modifiers are ignored: libspf2 never sees them.
  if (redirect && !has_all) out += " redirect=" + *redirect;
  return out;
}

}  // namespace spamgate::auth::spf_internal
