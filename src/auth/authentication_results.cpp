#include "auth/authentication_results.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <utility>
#include <vector>

#include "auth/from_header.h"
#include "base/ascii.h"

namespace spamgate::auth {

namespace {

constexpr std::size_t kMaxLine = 78;
constexpr std::size_t kMaxName = 253;  // octets of a domain name in text form
constexpr std::string_view kFieldName = "Authentication-Results";

// RFC 2045 token character: US-ASCII but SPACE, CTLs and tspecials.
bool isTokenChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte > 32 && byte < 127 && std::strchr("()<>@,;:\\\"/[]?=", c) == nullptr;
}

bool isToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), isTokenChar);
}

bool isAtext(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         (c != '\0' && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

bool isDotAtom(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  if (text.find("..") != std::string_view::npos) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return c == '.' || isAtext(c); });
}

bool isDomainName(std::string_view text) {
  return isDotAtom(text) && std::all_of(text.begin(), text.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' ||
                  c == '_';
         });
}

// RFC 8601 pvalue: [[local-part] "@"] domain-name, unquoted.
bool isMailboxForm(std::string_view text) {
  const std::size_t at = text.rfind('@');
  if (at == std::string_view::npos) return false;
  const std::string_view local = text.substr(0, at);
  return (local.empty() || isDotAtom(local)) && isDomainName(text.substr(at + 1));
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 32 || byte == 127) {
      out += '?';
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string value(std::string_view text) {
  return isToken(text) || isMailboxForm(text) ? std::string(text) : quoted(text);
}

using Resinfo = std::vector<std::string>;  // the words of one resinfo

Resinfo spfResinfo(const SpfOutcome& spf) {
  Resinfo words{"spf=" + std::string(spfResultName(spf.result))};
  if (spf.helo_identity) {
    if (!spf.domain.empty()) words.push_back("smtp.helo=" + value(spf.domain));
  } else {
    const std::string& mailfrom = spf.identity.empty() ? spf.domain : spf.identity;
    if (!mailfrom.empty()) words.push_back("smtp.mailfrom=" + value(mailfrom));
  }
  return words;
}

// RFC 5321 sub-domain: Let-dig [Ldh-str], at most 63 octets (a DNS label).
bool isSubDomain(std::string_view label) {
  const auto letDig = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  return !label.empty() && label.size() <= 63 && letDig(label.front()) && letDig(label.back()) &&
         std::all_of(label.begin(), label.end(), [&](char c) { return letDig(c) || c == '-'; });
}

// RFC 6376 3.1 selector and 3.5 domain-name: dot-separated sub-domains (two at least for a
// domain), at most 253 octets, so the property can never make an over-long line.
bool isDkimName(std::string_view text, std::size_t min_labels) {
  if (text.size() > kMaxName) return false;
  std::size_t labels = 0;
  for (std::size_t pos = 0;; ++labels) {
    const std::size_t dot = text.find('.', pos);
    if (!isSubDomain(text.substr(pos, dot - pos))) return false;
    if (dot == std::string_view::npos) return labels + 1 >= min_labels;
    pos = dot + 1;
  }
}

bool isBase64(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '/' || c == '=';
  });
}

// The peer wrote d=, s= and b=: a property whose value is not of its syntax is left out.
Resinfo dkimResinfo(const DkimSignatureOutcome& sig) {
  Resinfo words{"dkim=" + std::string(dkimResultName(sig.result))};
  if (isDkimName(sig.domain, 2)) words.push_back("header.d=" + sig.domain);
  if (isDkimName(sig.selector, 1)) words.push_back("header.s=" + sig.selector);
  if (!sig.header_b.empty() && isBase64(sig.header_b)) {
    words.push_back("header.b=" + value(sig.header_b));
  }
  return words;
}

Resinfo dmarcResinfo(const DmarcOutcome& dmarc) {
  Resinfo words{"dmarc=" + std::string(dmarcResultName(dmarc.result))};
  if (dmarc.result == DmarcResult::Pass || dmarc.result == DmarcResult::Fail) {
    words.push_back("(p=" + std::string(dmarcPolicyName(dmarc.policy)) + ")");
  }
  if (!dmarc.from_domain.empty()) words.push_back("header.from=" + value(dmarc.from_domain));
  return words;
}

// Appends the resinfos, one per tab-started line, folding between words past kMaxLine.
void appendResinfos(std::string& field, const std::vector<Resinfo>& resinfos) {
  for (std::size_t i = 0; i < resinfos.size(); ++i) {
    const bool last = i + 1 == resinfos.size();
    std::size_t column = 0;
    for (std::size_t w = 0; w < resinfos[i].size(); ++w) {
      std::string word = resinfos[i][w];
      if (w + 1 == resinfos[i].size() && !last) word += ';';
      if (w == 0 || column + 1 + word.size() > kMaxLine) {
        field += "\r\n\t";
        column = 1;
      } else {
        field += ' ';
        ++column;
      }
      field += word;
      column += word.size();
    }
  }
}

std::size_t skipCfws(std::string_view text, std::size_t pos) {
  std::size_t depth = 0;
  for (; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (depth > 0 && c == '\\') {
      ++pos;
    } else if (c == '(') {
      ++depth;
    } else if (depth > 0 && c == ')') {
      --depth;
    } else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      return pos;
    }
  }
  return text.size();  // a quoted-pair at the very end steps past it
}

}  // namespace

std::string authenticationResultsHeader(std::string_view authserv_id, const AuthFacts& facts) {
  std::string field = std::string(kFieldName) + ": " +
                      (isToken(authserv_id) ? std::string(authserv_id) : quoted(authserv_id)) + ";";
  std::vector<Resinfo> resinfos;
  if (facts.spf) resinfos.push_back(spfResinfo(*facts.spf));
  for (const DkimSignatureOutcome& sig : facts.dkim)
    resinfos.push_back(dkimResinfo(sig));
  if (facts.dkim_checked && facts.dkim.empty()) resinfos.push_back({"dkim=none"});
  if (facts.dmarc) resinfos.push_back(dmarcResinfo(*facts.dmarc));
  if (resinfos.empty()) return field + " none\r\n";
  appendResinfos(field, resinfos);
  return field + "\r\n";
}

std::optional<std::string> authservId(std::string_view field_value) {
  std::size_t pos = skipCfws(field_value, 0);
  if (pos == field_value.size()) return std::nullopt;
  std::string id;
  if (field_value[pos] == '"') {
    for (++pos; pos < field_value.size() && field_value[pos] != '"'; ++pos) {
      if (field_value[pos] == '\\' && pos + 1 < field_value.size()) ++pos;
      if (field_value[pos] != '\r' && field_value[pos] != '\n') id += field_value[pos];
    }
    if (pos == field_value.size()) return std::nullopt;  // unterminated
  } else {
    while (pos < field_value.size() && isTokenChar(field_value[pos]))
      id += field_value[pos++];
  }
  if (id.empty()) return std::nullopt;
  return id;
}

bool claimsAuthservId(std::string_view field_value, std::string_view authserv_id) {
  const std::optional<std::string> id = authservId(field_value);
  return id && base::equalsIgnoreCase(*id, authserv_id);
}

}  // namespace spamgate::auth
