// Reverse DNS and forward-confirmed reverse DNS (FCrDNS) as a check at the connect stage. It
// runs for every client, allow-listed or not: it is not reputation, and the name it confirms
// is worth having in the log and to later checks.
//
// Steps: a PTR lookup of the client's address (IPv4-mapped IPv6 as IPv4); then, for each PTR
// name (the first 10, as Postfix), an A lookup (IPv4 client) or AAAA lookup (IPv6), all in
// parallel. A name is confirmed when one of its addresses equals the client's (compared as
// parsed addresses, not as text). The first confirmation ends the check and cancels the
// other lookups.
//
// Results (config::Fcrdns gives the scores; detail for the operator):
//   confirmed                  no symbol; SessionFacts::verified_name = the confirmed name
//   RDNS_NONE      no_ptr     PTR NXDOMAIN/NODATA: "no PTR for 192.0.2.1 (nxdomain)"
//   RDNS_MISMATCH  mismatch   no name confirms: "ptr=a.example forward=192.0.2.9; ptr=..."
//   RDNS_TEMPFAIL  tempfail   either step ended in SERVFAIL, REFUSED, timeout or another
//                             error (and no name confirmed): "ptr 1.2.0.192.in-addr.arpa:
//                             timeout", "forward a.example: servfail"
// A forward name that cannot be queried at all (a PTR with a space...) does not confirm, as
// NXDOMAIN. With `reject = true` the check also gives an opinion (RFC 7372 codes):
// NONE/MISMATCH -> Reject 550 5.7.25, TEMPFAIL -> Tempfail 450 4.7.25; never at_rcpt.
//
// Async: start() needs Context::resolver and Context::facts (kept until the check ends; both
// outlive it). `done` never runs inline, except for a context without a resolver (then
// RDNS_TEMPFAIL "no resolver") or a client address that is not numeric (no result).
// Destroying the returned handle cancels every lookup; `done` never runs afterwards. The check
// ends within two resolver deadlines (PTR, then the forward lookups in parallel). The
// FcrdnsCheck object itself holds only settings: one instance serves every worker.
#pragma once

#include "config/config.h"
#include "pipeline/check.h"

namespace spamgate::checks {

class FcrdnsCheck final : public pipeline::Check {
 public:
  static constexpr std::size_t kMaxPtrNames = 10;

  explicit FcrdnsCheck(config::Fcrdns settings) : settings_(settings) {}

  std::string_view name() const override { return "fcrdns"; }
  bool runsAt(pipeline::Stage stage) const override { return stage == pipeline::Stage::Connect; }
  std::unique_ptr<pipeline::PendingCheck> start(pipeline::Stage stage,
                                                const pipeline::Context& context,
                                                pipeline::CheckDone done) override;

 private:
  config::Fcrdns settings_;
};

}  // namespace spamgate::checks
