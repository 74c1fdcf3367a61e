// SPF (RFC 7208) evaluation with libspf2, asynchronous, on the event loop.
//
// evaluateSpf() checks one identity: MAIL FROM's domain, or for the null reverse-path the HELO
// name as "postmaster@helo" (helo_identity). `done` gets the outcome: never inline, at most once,
// never after the returned handle is destroyed (that cancels the DNS queries in flight).
//
// How libspf2 runs without blocking: it is synchronous and wants DNS answers on the spot, so it
// gets a DNS layer of ours (an SPF_dns_server_t, never SPF_DNS_RESOLV/CACHE) that answers only
// from a memo of this evaluation, (name, type) -> dns::Result. A question not in the memo is
// recorded and answered as "no data" so that libspf2 goes on and shows us more of what it will
// need. If a run recorded questions, its result is thrown away: they are all asked through the
// DnsSource in parallel, the answers go into the memo, and libspf2 runs again. The first run
// with no question missing gives the result. Runs take microseconds; kMaxRounds rounds or
// kMaxQueries distinct questions end in temperror. Each run has its own SPF_server_t, so no
// libspf2 state is shared between threads.
//
// Corrections made around libspf2 1.2.10 (the library is not patched), all in spf_dns.cpp:
//   - record selection is ours (get_spf hook): exactly one "v=spf1" TXT record, else none or
//     permerror; the SPF RR type (99) is never queried;
//   - each record is checked against the RFC 7208 grammar (7-bit ASCII, no control characters,
//     domain-spec toplabels, macro letters, CIDR lengths without leading zeros, redirect/exp at
//     most once...) and rewritten before libspf2 compiles it: ip4/ip6 "/0" become two "/1"
//     halves; a/mx/exists domains get a marker label so the layer can count DNS terms across
//     includes (libspf2 counts per record) and serve a/mx "/0" (the client's own address when
//     the name has any); unknown modifiers and exp= are dropped (explanations are not
//     fetched); redirect= is dropped when the record has "all";
//   - more than 10 DNS terms or 2 void lookups (4.6.4) -> permerror; a void lookup is a term's
//     own (a/mx/exists name, ptr's reverse name), not the address lookup of an MX host or PTR
//     name, which libspf2 makes for the client's family only; PTR answers cut to 10 names;
//     an address lookup of a PTR name that fails is skipped (5.5), other DNS errors are
//     temperror; the identity must be a domain name (4.3), else none;
//   - libspf2's "invalid" result and non-DNS errors map to permerror.
//   - loopback clients (127/8, ::1) are judged like any other: libspf2's query entry point passes
//     them unchecked, so the evaluation calls its steps (record, interpretation) itself.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "auth/dns_source.h"
#include "auth/results.h"

namespace spamgate::auth {

struct SpfRequest {
  std::string client_ip;  // "192.0.2.1" or "2001:db8::1"
  std::string helo;       // the HELO/EHLO argument
  std::string mail_from;  // the reverse-path without brackets; "" = null sender
  std::string receiver;   // our hostname (the %{r} macro)
};

inline constexpr int kSpfMaxRounds = 30;    // libspf2 runs per evaluation
inline constexpr int kSpfMaxQueries = 120;  // distinct DNS questions per evaluation

// `dns` must outlive the returned handle.
std::unique_ptr<PendingQuery> evaluateSpf(DnsSource& dns, SpfRequest request,
                                          std::function<void(SpfOutcome)> done);

}  // namespace spamgate::auth
