#include "store/lmdb_store.h"

#include "store/deferred.h"

namespace spamgate::store {

namespace {

template <typename Result, typename Done>
std::unique_ptr<DeferredCall> deliver(event_base* base, Result result, Done done) {
  return defer(base, [result = std::move(result), done = std::move(done)]() mutable {
    done(std::move(result));
  });
}

}  // namespace

LmdbStore::LmdbStore(event_base* base, std::shared_ptr<LmdbDatabase> database)
    : base_(base), database_(std::move(database)) {}

std::unique_ptr<PendingRequest> LmdbStore::increment(std::string key, int64_t delta, Ttl ttl,
                                                     CountDone done) {
  return deliver(base_, database_->increment(key, delta, ttl), std::move(done));
}

std::unique_ptr<PendingRequest> LmdbStore::get(std::string key, ValueDone done) {
  return deliver(base_, database_->get(key), std::move(done));
}

std::unique_ptr<PendingRequest> LmdbStore::put(std::string key, std::string value, Ttl ttl,
                                               WriteDone done) {
  return deliver(base_, database_->put(key, value, ttl), std::move(done));
}

std::unique_ptr<PendingRequest> LmdbStore::erase(std::string key, WriteDone done) {
  return deliver(base_, database_->erase(key), std::move(done));
}

std::unique_ptr<PendingTake> LmdbStore::take(std::string key, Bucket bucket, double cost,
                                             Done done) {
  return deliver(base_, database_->take(key, bucket, cost), std::move(done));
}

}  // namespace spamgate::store
