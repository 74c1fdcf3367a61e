// The embedded state store's database: one LMDB file shared by every worker thread of the
// process. Synchronous and thread-safe (MDB_NOTLS; LMDB runs one write transaction at a time,
// and each request here is one short transaction: microseconds). LmdbStore puts it behind the
// asynchronous interfaces, one LmdbStore per worker loop.
//
// Records carry their expiry: an 8-byte expiry (milliseconds since the Unix epoch, host byte
// order) before the payload. An expired record reads as absent; sweep() removes them. Payloads:
// counters as decimal text (get() reads them like Redis does), records as given, token buckets
// as {double tokens, int64 microseconds of the last update} with the expiry set to the time the
// bucket is full again (a full bucket is the same as no bucket, as in MemoryRateStore).
//
// Durability: by default the file is written without fsync (MDB_NOSYNC): a crash of the
// process loses nothing, but a power cut or kernel crash loses the writes since the last
// sync(), which the owner calls on a timer (every few seconds), and at shutdown. LMDB stays
// consistent either way on a file system that keeps write order (ext4, xfs). Options::durable
// syncs every transaction instead (slower: one fdatasync per write).
//
// Errors come back in the results (a full map: MDB_MAP_FULL, raise Options::map_size); open()
// reports its error and returns null.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "store/rate_store.h"
#include "store/state_store.h"

struct MDB_env;

namespace spamgate::store {

class LmdbDatabase {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  struct Options {
    std::string path;                   // the database file (its lock file is path + "-lock")
    std::size_t map_size = 256u << 20;  // the most the file may grow to
    bool durable = false;               // fsync every write transaction
    // A bucket that never refills (per_minute 0) expires after this all the same.
    std::chrono::milliseconds max_bucket_ttl = std::chrono::hours(24);
    Clock clock;  // empty: std::chrono::system_clock::now
  };
  struct SweepResult {
    std::size_t scanned = 0;
    std::size_t removed = 0;
    std::string error;
  };

  static std::unique_ptr<LmdbDatabase> open(Options options, std::string* error);
  ~LmdbDatabase();
  LmdbDatabase(const LmdbDatabase&) = delete;
  LmdbDatabase& operator=(const LmdbDatabase&) = delete;

  CountResult increment(std::string_view key, int64_t delta, std::chrono::milliseconds ttl);
  ValueResult get(std::string_view key);
  WriteResult put(std::string_view key, std::string_view value, std::chrono::milliseconds ttl);
  WriteResult erase(std::string_view key);
  RateDecision take(std::string_view key, Bucket bucket, double cost);

  // Looks at up to `max` records, going on from where the last sweep stopped (wrapping
  // around), and removes the expired ones.
  SweepResult sweep(std::size_t max);
  // Flushes written data to disk; empty, or the error.
  std::string sync();

 private:
  LmdbDatabase(MDB_env* env, unsigned dbi, Options options);
  int64_t nowMicros() const;
  template <typename Body>
  std::string write(Body&& body);

  MDB_env* env_;
  unsigned dbi_;  // MDB_dbi
  Options options_;
  std::mutex sweep_mutex_;
  std::string sweep_from_;  // the key the next sweep starts at
};

}  // namespace spamgate::store
