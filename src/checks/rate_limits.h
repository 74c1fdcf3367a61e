// Per-client-address rate limits as token buckets in the worker's store::RateStore
// (Context::rates: the embedded LMDB file shared by the workers, or Redis shared by several
// gateways), one bucket per stage; the figure per minute is also the burst:
//   Connect  rate:conn:<ip>  connections_per_minute  RATE_CONNECTIONS  421 4.7.0, closes
//   Mail     rate:msg:<ip>   messages_per_minute     RATE_MESSAGES     450 4.7.1
//   Rcpt     rate:rcpt:<ip>  recipients_per_minute   RATE_RECIPIENTS   450 4.7.1
// Each run takes one token. Over the limit: the symbol (score 0, detail "60/min from
// 192.0.2.1, retry after 1000 ms") and, unless score_only, a Disconnect (Connect) or Tempfail
// opinion. A refused take costs nothing, so the client gets in again as the bucket refills.
//
// A figure of 0 means unlimited: the stage is not run and the store is not asked. Allow-listed
// clients (SessionFacts::allowlisted) are exempt and take no tokens.
//
// Failure mode: the store could not answer (Redis down, ...), or there is none: fail open,
// with the symbol RATE_STORE_ERROR (score 0, the store's error as detail) and no opinion.
//
// Asynchrony: with a store that answers inline (the in-memory one of the tests) start()
// returns nullptr; with a store that answers later, the returned handle owns the store's take,
// so destroying it cancels the take and `done` never runs.
#pragma once

#include "config/config.h"
#include "pipeline/check.h"
#include "store/rate_store.h"

namespace spamgate::checks {

class RateLimits final : public pipeline::Check {
 public:
  explicit RateLimits(config::RateLimits settings) : settings_(settings) {}

  std::string_view name() const override { return "rate_limits"; }
  // Connect, Mail and Rcpt, each only while enabled with a figure above 0.
  bool runsAt(pipeline::Stage stage) const override;
  std::unique_ptr<pipeline::PendingCheck> start(pipeline::Stage stage,
                                                const pipeline::Context& context,
                                                pipeline::CheckDone done) override;

 private:
  unsigned perMinute(pipeline::Stage stage) const;

  config::RateLimits settings_;
};

}  // namespace spamgate::checks
