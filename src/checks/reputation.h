// Reputation learned from spamgate's own decisions, per client address and per client network,
// kept in the worker's store::StateStore (embedded LMDB file, or Redis shared by gateways):
//   rep:ip:<ip>            e.g. rep:ip:192.0.2.7
//   rep:net:<net>/<len>    e.g. rep:net:192.0.2.0/24 (ipv4_prefix / ipv6_prefix)
// Each key holds a Record: exponentially decayed counts of accepted, tagged, tempfailed and
// rejected transactions (a decision counts half after half_life) and the time of the last
// update, as text ("v1 ACCEPT TAG TEMPFAIL REJECT UPDATED_MS"), TTL 8 half-lives.
//
// learnFromDecision() is called once per logged transaction: get, decay, add, put, for both
// keys (reputation_learn.cpp). Within one worker the updates of a key are serialized; two
// gateways (or two workers) updating the same key at the same instant may lose one of the
// updates: an accepted imprecision for a statistic. It also remembers, for greylisting, domains
// whose mail passed SPF and was accepted or tagged (spfok:<domain>, TTL pass_lifetime).
//
// ReputationCheck runs at Connect (allow-listed clients are skipped): with at least
// min_decisions (decayed) for the address, bad share = (reject + tempfail/2 + tag/2) / total;
//   share <= 0.05 and accepts >= min_decisions   REPUTATION_GOOD      good_score
//   share >= 0.5                                 REPUTATION_BAD       bad_score * share
// and the network's record likewise gives REPUTATION_NET_BAD at half that weight. Details read
// "12.3 decisions, 80% bad". No opinion: the policy decides from the score. The store could not
// answer: REPUTATION_STORE_ERROR (score 0), fail open.
//
// Time comes from an injectable wall clock (several gateways share the records).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "pipeline/check.h"
#include "store/state_store.h"

namespace spamgate::checks {

using WallClock = std::function<std::chrono::system_clock::time_point()>;

// "192.0.2.0/24" for "192.0.2.7" and prefix 24 ("2001:db8::/64" for IPv6); empty when `ip` is
// not an address. IPv4-mapped IPv6 counts as IPv4.
std::string clientNetwork(std::string_view ip, unsigned ipv4_prefix, unsigned ipv6_prefix);

// Milliseconds since the Unix epoch by `clock` (empty: the system clock).
int64_t epochMs(const WallClock& clock);

namespace reputation {

struct Record {
  double accept = 0;
  double tag = 0;
  double tempfail = 0;
  double reject = 0;
  int64_t updated_ms = 0;  // Unix epoch milliseconds

  double total() const { return accept + tag + tempfail + reject; }
  double badShare() const;  // 0 when total() is 0
};

std::string ipKey(std::string_view ip);
std::string netKey(std::string_view network);  // network as clientNetwork() gives it
std::string spfKey(std::string_view domain);   // spfok:<domain, lower case>

std::string encode(const Record& record);
std::optional<Record> decode(std::string_view text);
// The counts as seen at `now_ms`: each halved per half_life since updated_ms (none when the
// record is from the future: another gateway's clock).
Record decayed(const Record& record, int64_t now_ms, std::chrono::seconds half_life);

// The symbols the records give (either may be absent), already decayed to now.
std::vector<policy::Symbol> judge(const config::Reputation& settings,
                                  const std::optional<Record>& ip,
                                  const std::optional<Record>& network);

}  // namespace reputation

// One logged transaction, as learnFromDecision() needs it.
struct DecisionFacts {
  std::string client_ip;
  std::string action;           // "accept", "tag", "tempfail", "reject" ("none"... not learned)
  std::string reason;           // tempfails by the greylist ("greylist: ...") are not learned
  std::string spf_pass_domain;  // the MAIL FROM domain when SPF passed, else empty
};

// Fire and forget: the updates run on the store's loop and need nothing of the caller
// afterwards. Per store and key, one read-modify-write is in flight at a time and decisions
// arriving meanwhile are added by the next one, so a burst is counted whole. Hazard: an update
// still in flight when the worker's loop stops is dropped (its few bytes stay allocated).
// Reputation counts only when config.reputation.enabled, spfok only when greylisting with
// skip_spf_pass_known. Loop thread of `store` only.
void learnFromDecision(store::StateStore& store, const config::Config& config, DecisionFacts facts,
                       WallClock clock = {});

class ReputationCheck final : public pipeline::Check {
 public:
  explicit ReputationCheck(config::Reputation settings, WallClock clock = {});

  std::string_view name() const override { return "reputation"; }
  bool runsAt(pipeline::Stage stage) const override;
  std::unique_ptr<pipeline::PendingCheck> start(pipeline::Stage stage,
                                                const pipeline::Context& context,
                                                pipeline::CheckDone done) override;

 private:
  config::Reputation settings_;
  WallClock clock_;
};

}  // namespace spamgate::checks
