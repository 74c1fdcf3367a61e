// The state that outlives a connection (greylist triplets, learned reputation, counters) behind
// one small asynchronous interface, so that the checks do not care whether it lives in an
// embedded file (LmdbStore) or in Redis shared by several gateways (RedisStore).
//
// Contract, for every implementation:
// - Requests never block and never call back inline: the callback runs later from the event
//   loop the store was made for (one store object per worker loop), exactly once, unless the
//   returned handle is destroyed first: destroying the handle cancels, and the callback never
//   runs afterwards. A callback may destroy its own handle and start new requests.
// - Every key has a TTL (at least 1 ms), so that the state stays bounded. increment() sets it
//   when the counter is created and later increments do NOT extend it: a counter counts over
//   the window that began with its first increment. put() sets it anew on every write.
//   Callers that need decay store time-bucketed counters (one key per hour, say).
// - A non-empty `error` means the store could not answer (Redis unreachable or slow, an LMDB
//   error such as a full map); the other fields mean nothing then. Each caller chooses its
//   failure mode (greylisting and rate limits fail open).
//
// Key layout: docs/store.md lists every key, its type and its TTL.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "store/rate_store.h"

namespace spamgate::store {

struct CountResult {
  int64_t value = 0;  // the counter after the increment
  std::string error;
};

struct ValueResult {
  std::optional<std::string> value;  // absent: no such key, or expired
  std::string error;
};

struct WriteResult {
  std::string error;
};

// A request in flight. Destroying it cancels the request: its callback does not run afterwards
// (the write itself may still happen).
class PendingRequest {
 public:
  virtual ~PendingRequest() = default;
};

class StateStore {
 public:
  using Ttl = std::chrono::milliseconds;
  using CountDone = std::function<void(CountResult)>;
  using ValueDone = std::function<void(ValueResult)>;
  using WriteDone = std::function<void(WriteResult)>;

  virtual ~StateStore() = default;
  // Adds `delta` to the counter `key` (created at 0 with `ttl`); the new value.
  virtual std::unique_ptr<PendingRequest> increment(std::string key, int64_t delta, Ttl ttl,
                                                    CountDone done) = 0;
  virtual std::unique_ptr<PendingRequest> get(std::string key, ValueDone done) = 0;
  // Stores a small record (up to a few hundred bytes: triplets, reputation summaries).
  virtual std::unique_ptr<PendingRequest> put(std::string key, std::string value, Ttl ttl,
                                              WriteDone done) = 0;
  // Removing a key that is not there is no error.
  virtual std::unique_ptr<PendingRequest> erase(std::string key, WriteDone done) = 0;
};

// A worker's whole store: records, counters and token buckets (LmdbStore, RedisStore).
class StoreBackend : public StateStore, public RateStore {};

}  // namespace spamgate::store
