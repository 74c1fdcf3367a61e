// DMARC (RFC 7489): the policy record, the organizational domain, policy discovery in DNS and
// the evaluation of a message's SPF and DKIM results against its RFC 5322 From domain.
//
// Written here rather than on libopendmarc: its lookups go to the blocking system resolver,
// and its store API leaves the lookup and the organizational-domain fallback to the caller
// anyway. The organizational domain comes from libpsl over Debian's public suffix list
// (/usr/share/publicsuffix), loaded once per process, thread-safe.
//
// Record (section 6.3): "v=DMARC1" must be the first tag; tag names and p/sp/adkim/aspf values
// are case-insensitive; unknown tags are ignored; the first of duplicated tags counts. A
// missing or invalid p (or an invalid sp) makes the record a policy of p=none when a valid rua
// URI is present, else no policy at all (6.6.3 step 6). Invalid pct/adkim/aspf values fall back
// to their defaults (100, relaxed, relaxed). p may appear anywhere after v (lenient).
//
// Discovery (6.6.3): TXT _dmarc.<From domain>; if it holds no DMARC record (NXDOMAIN, NODATA,
// only other TXT records), TXT _dmarc.<organizational domain> when that differs. TXT records
// not starting with v=DMARC1 are ignored; two or more DMARC records at the name asked mean no
// policy (no fallback). Any other DNS failure ends the evaluation with temperror.
//
// Evaluation: SPF aligns when its result is pass and its domain matches the From domain; DKIM
// when a signature with result pass has a matching d=. Strict: equal names; relaxed: equal
// organizational domains (names compared case-insensitively). Pass if either aligns, else
// fail. The policy that applies is p, or sp (if given) when the record came from the
// organizational domain and the From domain is a subdomain of it. A failing message is
// sampled out when pct < 100 and the roll (0..99) is >= pct: RFC 7489 6.6.4 then treats
// reject as quarantine and quarantine as none; that is the caller's to apply.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dns_source.h"
#include "auth/results.h"

namespace spamgate::auth {

struct DmarcRecord {
  DmarcPolicy policy = DmarcPolicy::None;
  std::optional<DmarcPolicy> subdomain_policy;
  unsigned pct = 100;
  bool strict_dkim = false;
  bool strict_spf = false;
};

enum class DmarcRecordStatus {
  NotDmarc,  // does not start with v=DMARC1: not a DMARC record at all
  Invalid,   // a DMARC record without a usable p (or with a bad sp) and no valid rua
  Ok,
};

struct DmarcRecordParse {
  DmarcRecordStatus status = DmarcRecordStatus::NotDmarc;
  DmarcRecord record;  // Ok
  std::string error;   // Invalid: for the operator
};

DmarcRecordParse parseDmarcRecord(std::string_view text);

// The organizational domain (RFC 7489 3.2) of a lower-case domain: its registrable domain by
// the public suffix list; the domain itself when it is a public suffix or the list is missing.
std::string organizationalDomain(std::string_view domain);

struct DmarcInput {
  std::string from_domain;  // lower case, from fromDomain()
  std::optional<SpfOutcome> spf;
  std::vector<DkimSignatureOutcome> dkim;
  // Returns 0..99 for pct sampling; empty: a per-thread pseudo-random generator.
  std::function<unsigned()> roll;
};

// Discovers the policy and evaluates. `done` gets the outcome (from_domain, policy_domain,
// policy, sampled_out, alignment, detail), never inline: except for an empty from_domain,
// answered inline with permerror (the function then returns nullptr). Destroying the returned
// handle cancels the lookups; `done` never runs afterwards. `dns` must outlive the handle.
std::unique_ptr<PendingQuery> evaluateDmarc(DnsSource& dns, DmarcInput input,
                                            std::function<void(DmarcOutcome)> done);

}  // namespace spamgate::auth
