// DKIM (RFC 6376) as a check at end of data: verifies every signature of the message
// (auth/dkim.h: keys through DNS, libopendkim on the worker pool) and records the outcomes in
// SessionFacts::auth.dkim for DMARC and the Authentication-Results header. It gives no opinion:
// DMARC decides what a failing signature means.
//
// Symbols (config::Dkim gives the scores), one per result kind present, the detail naming each
// signature of that kind: "d=example.com s=sel: body hash mismatch; d=...":
//   DKIM_PASS       pass_score
//   DKIM_FAIL       fail_score (fail, and policy/neutral which RFC 8601 counts as not passing)
//   DKIM_TEMPERROR  temperror_score
//   DKIM_PERMERROR  permerror_score
//   DKIM_NONE       0: the message carries no DKIM-Signature
// Without Context::offload the check never verifies on the loop: DKIM_TEMPERROR "no worker
// pool". Without Context::facts or Context::message it records nothing.
//
// Async: start() needs Context::resolver (through the DnsSource factory, a test seam) and
// Context::facts, kept until the check ends (both outlive it). `done` runs inline, and start()
// returns null, when there is nothing to look up; the message is copied only when there is
// something to verify. Destroying the handle cancels the lookups and a verification still
// queued for a worker; `done` never runs afterwards. Runs at order 0, before DMARC.
#pragma once

#include <functional>
#include <memory>

#include "auth/dns_source.h"
#include "checks/auth_dns.h"
#include "config/config.h"
#include "pipeline/check.h"

namespace spamgate::checks {

class DkimCheck final : public pipeline::Check {
 public:
  // Makes the DnsSource of one check run; null when the context has no DNS.

  explicit DkimCheck(config::Dkim settings, AuthDnsFactory dns = {});

  std::string_view name() const override { return "dkim"; }
  bool runsAt(pipeline::Stage stage) const override { return stage == pipeline::Stage::EndOfData; }
  int order() const override { return 0; }
  std::unique_ptr<pipeline::PendingCheck> start(pipeline::Stage stage,
                                                const pipeline::Context& context,
                                                pipeline::CheckDone done) override;

 private:
  config::Dkim settings_;
  AuthDnsFactory dns_;
};

}  // namespace spamgate::checks
