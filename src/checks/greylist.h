// Greylisting (RFC 6647) at RCPT, in the worker's store::StateStore (embedded LMDB file, or
// Redis shared by several gateways). The triplet is (client network by ipv4_prefix/ipv6_prefix,
// sender lower-cased or "<>", recipient lower-cased), one key per triplet:
//   grey:<net>/<len>:<sender>:<rcpt>   "wait <ms>"  first seen, TTL retry_window
//                                      "pass <ms>"  passed,     TTL pass_lifetime
// First contact: the key is written and the answer is a Tempfail opinion
// 451 4.7.1 "Greylisted, please try again in N seconds" (symbol GREYLIST_DEFER, score 0, reason
// "greylist: GREYLIST_DEFER"). A retry before `delay` is deferred again (first seen unchanged);
// a retry after it, within the window, rewrites the key as passed: GREYLIST_PASS (score 0), no
// opinion. A passed triplet passes and its TTL is refreshed.
//
// Skipped (no store request, no symbol): allow-listed clients; clients with DNSWL_LISTED, or
// REPUTATION_GOOD when skip_good_reputation, among the prior symbols; when skip_spf_pass_known,
// a sender whose SPF passed for the MAIL FROM domain and whose domain passed before
// (spfok:<domain>, written by learnFromDecision(): one store read); when a band is set, a prior
// score outside [min_score, max_score).
//
// Failure mode: the store could not answer: fail open, GREYLIST_STORE_ERROR (score 0, the
// store's error as detail), no opinion.
//
// Time comes from an injectable wall clock: several gateways share the keys, so it is the system
// clock in production. The check keeps nothing of the Context but the store pointer.
#pragma once

#include "checks/reputation.h"
#include "config/config.h"
#include "pipeline/check.h"

namespace spamgate::checks {

// "grey:192.0.2.0/24:alice@example.org:bob@example.net"; empty when `ip` is not an address.
std::string greylistKey(const config::Greylist& settings, std::string_view ip,
                        std::string_view sender, std::string_view recipient);

class Greylist final : public pipeline::Check {
 public:
  explicit Greylist(config::Greylist settings, WallClock clock = {});

  std::string_view name() const override { return "greylist"; }
  bool runsAt(pipeline::Stage stage) const override;
  // After the other RCPT checks, so that their symbols count in the grey band.
  int order() const override { return 1; }
  std::unique_ptr<pipeline::PendingCheck> start(pipeline::Stage stage,
                                                const pipeline::Context& context,
                                                pipeline::CheckDone done) override;

 private:
  bool skipped(const pipeline::Context& context) const;
  std::string knownSpfDomain(const pipeline::Context& context) const;

  config::Greylist settings_;
  WallClock clock_;
};

}  // namespace spamgate::checks
