// DNSBL and DNSWL lookups as a check at the connect stage (Postfix postscreen_dnsbl_sites,
// RFC 5782). For each configured zone, in parallel, an A lookup of the client's reversed
// address under the zone ("2.0.0.127.zen.spamhaus.org"; IPv6 as 32 nibbles; IPv4-mapped IPv6
// as IPv4) through the session's resolver.
//
// Per zone, in configuration order, the symbols:
// - DNSBL_LISTED (weight > 0) or DNSWL_LISTED (weight < 0), score = the zone's weight, detail
//   "zone=zen.spamhaus.org code=127.0.0.2,127.0.0.4": the answer holds codes that count, i.e.
//   codes in 127.0.0.0/8, not errors, and passing the zone's filter when it has one.
// - DNSBL_ZONE_ERROR, score 0, detail "zone=... code=127.255.255.254": answers that never count,
//   whatever the filter: the error range 127.255.255.0/24 (Spamhaus: .252 bad query, .254 open
//   resolver, .255 too many queries) and anything outside 127.0.0.0/8 (a broken or expired list).
// - DNSBL_TEMPFAIL, score tempfail_score, detail "zone=... status=timeout": SERVFAIL, REFUSED,
//   timeout, or any other failure. Never a listing, never a permanent reject, no opinion.
// - Nothing for NXDOMAIN/NODATA (not listed) or codes the filter does not take.
// When the summed weights of the listed zones (DNSWL ones negative) reach reject_weight, at
// least one DNSBL zone listed the client, and not score_only: a Reject opinion 554 5.7.1
// "Service unavailable; client [IP] blocked using ZONE" naming the listed zone of largest
// weight (postscreen's words), given at each RCPT when reject_at = "rcpt".
//
// Skipped, with no symbol, for a client that an earlier check allow-listed (facts->allowlisted),
// and when there are no zones. Without a resolver in the context, every zone tempfails.
//
// Asynchronous: start() returns a handle unless it answered inline (skipped, no resolver); the
// check completes once every zone answered, each by the resolver's deadline at the latest.
// Destroying the handle cancels all the lookups; `done` then never runs. The handle does not
// refer to the Dnsbl object, which may go (config reload) while lookups are in flight.
//
// `enabled` is not looked at here: the composition root builds the check or not.
// Errors: the constructor throws std::invalid_argument for a bad code filter or zone name.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "checks/dnsbl_codes.h"
#include "config/config.h"
#include "pipeline/check.h"

namespace spamgate::checks {

class Dnsbl final : public pipeline::Check {
 public:
  explicit Dnsbl(const config::Dnsbl& settings);

  std::string_view name() const override { return "dnsbl"; }
  bool runsAt(pipeline::Stage stage) const override { return stage == pipeline::Stage::Connect; }
  std::unique_ptr<pipeline::PendingCheck> start(pipeline::Stage stage,
                                                const pipeline::Context& context,
                                                pipeline::CheckDone done) override;

  struct Zone {
    std::string name;  // normalised: lower case, no final dot
    double weight = 1;
    CodeFilter codes;  // empty: any code in 127.0.0.0/8 that is not an error
  };
  struct Rules {
    std::vector<Zone> zones;
    bool score_only = false;
    double reject_weight = 10;
    bool at_rcpt = true;
    double tempfail_score = 0;
    bool tempfail_on_error = true;
  };

 private:
  class Pending;
  std::shared_ptr<const Rules> rules_;
};

}  // namespace spamgate::checks
