// SPF (RFC 7208) as a check: the MAIL FROM identity, or "postmaster@<helo>" for the null
// reverse-path, evaluated by auth::evaluateSpf over the worker's resolver.
//
// At MAIL: the outcome goes to SessionFacts::auth.spf (DMARC and Authentication-Results read
// it) and one symbol with its configured score: SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_NEUTRAL,
// SPF_NONE, SPF_TEMPERROR, SPF_PERMERROR; detail "example.com: fail (...) for 192.0.2.1".
// Opinions (RFC 7372 codes), never for an allow-listed client:
//   fail       fail_action = reject       Reject   550 5.7.23
//   permerror  permerror_action = reject  Reject   550 5.7.24
//   temperror  tempfail_on_error          Tempfail 451 4.4.3
// given at MAIL when reject_at = "mail"; with reject_at = "rcpt" MAIL gives none and each RCPT
// gives it from SessionFacts::auth.spf (no new symbol there).
//
// Async: start() at MAIL needs Context::facts and a DNS source: by default
// auth::resolverSource(*Context::resolver) (no resolver -> SPF_TEMPERROR "no resolver",
// inline); an AuthDnsFactory given at construction replaces it (tests). `done` never runs inline
// otherwise; destroying the handle cancels the evaluation. The check object holds only
// settings: one instance serves every worker.
#pragma once

#include <functional>
#include <memory>

#include "auth/dns_source.h"
#include "checks/auth_dns.h"
#include "config/config.h"
#include "pipeline/check.h"

namespace spamgate::checks {

class SpfCheck final : public pipeline::Check {
 public:
  explicit SpfCheck(config::Spf settings, AuthDnsFactory sources = {})
      : settings_(settings), sources_(std::move(sources)) {}

  std::string_view name() const override { return "spf"; }
  bool runsAt(pipeline::Stage stage) const override;
  std::unique_ptr<pipeline::PendingCheck> start(pipeline::Stage stage,
                                                const pipeline::Context& context,
                                                pipeline::CheckDone done) override;

 private:
  std::unique_ptr<pipeline::PendingCheck> startMail(const pipeline::Context& context,
                                                    pipeline::CheckDone done);

  config::Spf settings_;
  AuthDnsFactory sources_;
};

}  // namespace spamgate::checks
