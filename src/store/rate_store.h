// Token buckets behind a small asynchronous store interface, so that rate limits can live in
// memory now and in a shared store later (LMDB, Redis: issue 7) without touching the checks.
//
// A bucket holds up to `burst` tokens and refills continuously at `per_minute` tokens per
// minute; a key that the store does not hold is a full bucket. take() removes `cost` tokens
// when that many are there (allowed) and otherwise removes nothing (refused). Refused takes do
// not drain the bucket further, so a client that keeps knocking is not punished twice.
//
// Key layout (shared with the Redis backend, so that operators can inspect and clear state
// with redis-cli; the IP is Context::client_ip as text: dotted quad, or RFC 5952 IPv6):
//   rate:conn:<ip>   connections per minute from one client address
//   rate:msg:<ip>    messages (MAIL commands) per minute from one client address
//   rate:rcpt:<ip>   recipients (RCPT commands) per minute from one client address
// In Redis each key will be a hash {tokens, ts} with a TTL equal to the time the bucket needs
// to be full again, so that memory stays bounded there too.
//
// Errors: a store that cannot answer (Redis unreachable, ...) says so in RateDecision::error;
// the caller decides the failure mode (rate limits fail open).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace spamgate::store {

namespace rate_keys {
std::string connections(std::string_view ip);  // "rate:conn:<ip>"
std::string messages(std::string_view ip);     // "rate:msg:<ip>"
std::string recipients(std::string_view ip);   // "rate:rcpt:<ip>"
}  // namespace rate_keys

struct Bucket {
  double per_minute = 0;  // refill rate; 0: never refills
  double burst = 0;       // capacity, and the content of a bucket never seen
};

struct RateDecision {
  bool allowed = false;
  double remaining = 0;  // tokens left once this take is done (or not done, when refused)
  // Refused: how long until `cost` tokens are there; milliseconds::max() when never (cost >
  // burst, or no refill). Allowed: zero.
  std::chrono::milliseconds retry_after{0};
  std::string error;  // not empty: the store could not answer; the other fields mean nothing
};

// The token-bucket arithmetic every store shares. takeTokens() takes `cost` from `tokens`
// (already refilled up to now) when they suffice and never changes them otherwise;
// refillTime() is how long `deficit` tokens take to come back, milliseconds::max() for never.
RateDecision takeTokens(double& tokens, Bucket bucket, double cost);
std::chrono::milliseconds refillTime(double deficit, Bucket bucket);

// A take in flight. Destroying it cancels the take: its callback does not run afterwards.
class PendingTake {
 public:
  virtual ~PendingTake() = default;
};

class RateStore {
 public:
  using Done = std::function<void(RateDecision)>;
  virtual ~RateStore() = default;
  // Takes `cost` tokens from the bucket `key` and calls `done` exactly once, either inline
  // (then take() returns nullptr) or later on the calling thread's event loop (then the
  // returned handle cancels it). Callable from any worker thread.
  virtual std::unique_ptr<PendingTake> take(std::string key, Bucket bucket, double cost,
                                            Done done) = 0;
};

// The in-memory store: shared by all worker threads (sharded, one mutex per shard), answers
// inline, callbacks run outside the locks (they may call the store again).
//
// Memory is bounded twice: a bucket idle long enough to be full again is the same as no bucket
// and is dropped by a sweep (one pass over a shard after as many takes as it holds entries, so
// amortized O(1) per take); and a shard never holds more than its share of `max_entries`
// (rounded up to a multiple of the shard count): inserting into a full shard drops the least
// recently used bucket. Hazard: a flood of distinct keys can thus refill someone's bucket
// early; size max_entries above the number of clients seen in a minute.
class MemoryRateStore final : public RateStore {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  struct Options {
    std::size_t max_entries = 100000;
    std::size_t shards = 16;  // at least 1
    Clock clock;              // empty: std::chrono::steady_clock::now
  };

  MemoryRateStore();
  explicit MemoryRateStore(Options options);
  ~MemoryRateStore() override;
  MemoryRateStore(const MemoryRateStore&) = delete;
  MemoryRateStore& operator=(const MemoryRateStore&) = delete;

  std::unique_ptr<PendingTake> take(std::string key, Bucket bucket, double cost,
                                    Done done) override;
  // The same, synchronously.
  RateDecision takeNow(const std::string& key, Bucket bucket, double cost);
  // Buckets held right now, over all shards (tests, metrics).
  std::size_t size() const;

 private:
  struct Shard;
  Shard& shardFor(const std::string& key);

  Clock clock_;
  std::size_t shard_count_;
  std::size_t shard_capacity_;  // entries per shard
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace spamgate::store
