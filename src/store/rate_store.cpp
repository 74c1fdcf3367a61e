#include "store/rate_store.h"

#include <algorithm>
#include <cmath>
#include <list>
#include <mutex>
#include <unordered_map>

namespace spamgate::store {

namespace rate_keys {

std::string connections(std::string_view ip) {
  return "rate:conn:" + std::string(ip);
}
std::string messages(std::string_view ip) {
  return "rate:msg:" + std::string(ip);
}
std::string recipients(std::string_view ip) {
  return "rate:rcpt:" + std::string(ip);
}

}  // namespace rate_keys

namespace {

using Time = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr double kNanosPerMinute = 60e9;
constexpr double kMillisPerMinute = 60e3;
// Rounding in the refill arithmetic must not refuse a take that retry_after promised.
constexpr double kEpsilon = 1e-9;
// Durations past this are "never" (and would overflow the clock's arithmetic).
constexpr double kNeverNanos = 1e18;
// A shard is swept after this many takes at least, however few entries it holds.
constexpr std::size_t kMinSweepInterval = 64;

struct Entry {
  double tokens = 0;
  Time last;     // when `tokens` was last brought up to date
  Time full_at;  // from then on the bucket is full, the same as no entry at all
  std::list<const std::string*>::iterator lru;
};

double refilled(const Entry& entry, Bucket bucket, Time now) {
  const auto elapsed = std::max<nanoseconds::rep>((now - entry.last).count(), 0);
  // Multiply first: whole minutes and seconds then refill exactly.
  const double added = static_cast<double>(elapsed) * bucket.per_minute / kNanosPerMinute;
  return std::min(bucket.burst, entry.tokens + added);
}

Time fullAt(double tokens, Bucket bucket, Time now) {
  const double deficit = bucket.burst - tokens;
  if (deficit <= 0) return now;
  if (bucket.per_minute <= 0) return Time::max();
  const double nanos = std::ceil(deficit * kNanosPerMinute / bucket.per_minute);
  if (nanos >= kNeverNanos) return Time::max();
  const nanoseconds wait(static_cast<nanoseconds::rep>(nanos));
  return now > Time::max() - wait ? Time::max() : now + wait;
}

}  // namespace

milliseconds refillTime(double deficit, Bucket bucket) {
  if (bucket.per_minute <= 0) return milliseconds::max();
  const double millis = std::ceil(deficit * kMillisPerMinute / bucket.per_minute);
  if (millis >= kNeverNanos / 1e6) return milliseconds::max();
  return milliseconds(static_cast<milliseconds::rep>(millis));
}

RateDecision takeTokens(double& tokens, Bucket bucket, double cost) {
  RateDecision decision;
  if (tokens + kEpsilon >= cost) {
    tokens = std::max(tokens - cost, 0.0);
    decision.allowed = true;
  } else {
    decision.retry_after =
        cost > bucket.burst ? milliseconds::max() : refillTime(cost - tokens, bucket);
  }
  decision.remaining = tokens;
  return decision;
}

struct MemoryRateStore::Shard {
  std::mutex mutex;
  std::unordered_map<std::string, Entry> entries;
  std::list<const std::string*> lru;  // front: most recently used; points at the map's keys
  std::size_t takes_since_sweep = 0;

  void maybeSweep(Time now) {
    if (++takes_since_sweep < std::max(kMinSweepInterval, entries.size())) return;
    takes_since_sweep = 0;
    for (auto it = entries.begin(); it != entries.end();) {
      if (it->second.full_at <= now) {
        lru.erase(it->second.lru);
        it = entries.erase(it);
      } else {
        ++it;
      }
    }
  }

  // The entry for `key`, made the most recently used; a new one starts full.
  Entry& find(const std::string& key, Bucket bucket, Time now, std::size_t capacity) {
    auto it = entries.find(key);
    if (it != entries.end()) {
      lru.splice(lru.begin(), lru, it->second.lru);
      return it->second;
    }
    if (entries.size() >= capacity) {
      entries.erase(*lru.back());
      lru.pop_back();
    }
    it = entries.emplace(key, Entry{bucket.burst, now, now, {}}).first;
    it->second.lru = lru.insert(lru.begin(), &it->first);
    return it->second;
  }
};

MemoryRateStore::MemoryRateStore() : MemoryRateStore(Options{}) {}

MemoryRateStore::MemoryRateStore(Options options)
    : clock_(options.clock ? std::move(options.clock) : Clock(&std::chrono::steady_clock::now)),
      shard_count_(std::max<std::size_t>(options.shards, 1)),
      shard_capacity_(
          std::max<std::size_t>((options.max_entries + shard_count_ - 1) / shard_count_, 1)),
      shards_(std::make_unique<Shard[]>(shard_count_)) {}

MemoryRateStore::~MemoryRateStore() = default;

MemoryRateStore::Shard& MemoryRateStore::shardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % shard_count_];
}

std::unique_ptr<PendingTake> MemoryRateStore::take(std::string key, Bucket bucket, double cost,
                                                   Done done) {
  done(takeNow(key, bucket, cost));
  return nullptr;
}

RateDecision MemoryRateStore::takeNow(const std::string& key, Bucket bucket, double cost) {
  cost = std::max(cost, 0.0);
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  // The clock is read under the lock so that a bucket's times never go backwards.
  const Time now = clock_();
  shard.maybeSweep(now);
  Entry& entry = shard.find(key, bucket, now, shard_capacity_);
  entry.tokens = refilled(entry, bucket, now);
  entry.last = now;
  RateDecision decision = takeTokens(entry.tokens, bucket, cost);
  entry.full_at = fullAt(entry.tokens, bucket, now);
  return decision;
}

std::size_t MemoryRateStore::size() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    total += shards_[i].entries.size();
  }
  return total;
}

}  // namespace spamgate::store
