// The embedded state store: one LmdbDatabase (one file, shared by every worker thread), and one
// LmdbStore per worker loop in front of it. Each request runs synchronously on the calling
// thread (one short LMDB transaction) and its answer is delivered on the next turn of the loop,
// never inline, as StateStore promises; RateStore's take() does the same.
//
// Token buckets use the system clock (it persists across restarts, unlike the steady clock);
// a step of the clock backwards refills nothing, a step forwards refills early.
//
// Hazards: loop thread only; the event_base and the database must outlive the store, and the
// event_base every handle. The owner runs database().sweep() and sync() on timers.
#pragma once

#include <memory>

#include "store/lmdb_database.h"
#include "store/rate_store.h"
#include "store/state_store.h"

struct event_base;

namespace spamgate::store {

class LmdbStore final : public StoreBackend {
 public:
  LmdbStore(event_base* base, std::shared_ptr<LmdbDatabase> database);

  std::unique_ptr<PendingRequest> increment(std::string key, int64_t delta, Ttl ttl,
                                            CountDone done) override;
  std::unique_ptr<PendingRequest> get(std::string key, ValueDone done) override;
  std::unique_ptr<PendingRequest> put(std::string key, std::string value, Ttl ttl,
                                      WriteDone done) override;
  std::unique_ptr<PendingRequest> erase(std::string key, WriteDone done) override;
  std::unique_ptr<PendingTake> take(std::string key, Bucket bucket, double cost,
                                    Done done) override;

  LmdbDatabase& database() { return *database_; }

 private:
  event_base* base_;
  std::shared_ptr<LmdbDatabase> database_;
};

}  // namespace spamgate::store
