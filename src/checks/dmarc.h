// DMARC (RFC 7489) as a check at end of data. It runs after the DKIM check (order 1) and reads
// the SPF and DKIM results from SessionFacts::auth; it stores its own outcome there
// (auth.dmarc) for the Authentication-Results field.
//
// From (RFC 5322 section 3.6.2 and RFC 7489 6.6.1), before any lookup:
//   FROM_MISSING   missing_from_score    no From field
//   FROM_MULTIPLE  multiple_from_score   several From fields, or one whose mailboxes are in
//                                        several domains
//   FROM_INVALID   missing_from_score    a From field that does not parse to a domain
// and no DMARC evaluation then. Otherwise the policy is looked up and evaluated (auth/dmarc.h):
//   DMARC_PASS             0                 SPF or DKIM aligned
//   DMARC_FAIL_REJECT      reject_score if reject_action is "score", else 0
//   DMARC_FAIL_QUARANTINE  quarantine_score
//   DMARC_FAIL_NONE        none_fail_score
//   DMARC_NONE             0                 no policy
//   DMARC_TEMPERROR        0                 the policy lookup failed, or an identifier that
//                                            could align had a temporary error: 451 4.4.3
//                                            unless tempfail_on_error = false
//   DMARC_PERMERROR        0                 an unusable record
// The failing symbol follows the policy actually applied: a failure sampled out by pct counts
// one step lower (reject as quarantine, quarantine as none, RFC 7489 6.6.4). Details name the
// From domain, the record's domain and which alignment failed.
//
// Opinions (none for allow-listed clients, which get the symbols only): a p=reject failure
// with reject_action "reject" -> Reject 550 5.7.1 "Rejected by DMARC policy for <domain>";
// a p=quarantine failure -> Tag.
//
// Async: start() needs Context::message and Context::facts; the DNS comes from the services'
// DnsSource factory (by default, a source over Context::resolver). `done` runs inline when no
// lookup is needed (no message, From trouble, no resolver: DMARC_TEMPERROR "no resolver").
// Destroying the returned handle cancels the lookups. The check object holds only settings
// and services: one instance serves every worker.
#pragma once

#include <functional>
#include <memory>

#include "auth/dns_source.h"
#include "checks/auth_dns.h"
#include "config/config.h"
#include "pipeline/check.h"

namespace spamgate::checks {

struct DmarcServices {
  // The DNS source of one evaluation; null: none (DMARC_TEMPERROR). Empty: over the resolver.
  AuthDnsFactory dns;
  std::function<unsigned()> roll;  // 0..99 for pct; empty: pseudo-random
};

class DmarcCheck final : public pipeline::Check {
 public:
  explicit DmarcCheck(config::Dmarc settings, DmarcServices services = {})
      : settings_(settings), services_(std::move(services)) {}

  std::string_view name() const override { return "dmarc"; }
  bool runsAt(pipeline::Stage stage) const override {
    return settings_.enabled && stage == pipeline::Stage::EndOfData;
  }
  int order() const override { return 1; }
  std::unique_ptr<pipeline::PendingCheck> start(pipeline::Stage stage,
                                                const pipeline::Context& context,
                                                pipeline::CheckDone done) override;

 private:
  config::Dmarc settings_;
  DmarcServices services_;
};

}  // namespace spamgate::checks
