#include "store/lmdb_database.h"

#include <lmdb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

namespace spamgate::store {

namespace {

using std::chrono::milliseconds;

constexpr std::size_t kExpirySize = sizeof(int64_t);
constexpr std::size_t kBucketSize = sizeof(double) + sizeof(int64_t);
constexpr double kMicrosPerMinute = 60e6;

MDB_val val(std::string_view bytes) {
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

std::string_view view(const MDB_val& value) {
  return {static_cast<const char*>(value.mv_data), value.mv_size};
}

std::string lmdbError(const char* what, int rc) {
  return std::string("lmdb ") + what + ": " + mdb_strerror(rc);
}

struct Record {
  int64_t expiry_ms = 0;
  std::string_view payload;
};

// Null for a record too short to be ours.
std::optional<Record> decode(const MDB_val& value) {
  if (value.mv_size < kExpirySize) return std::nullopt;
  Record record;
  std::memcpy(&record.expiry_ms, value.mv_data, kExpirySize);
  record.payload = view(value).substr(kExpirySize);
  return record;
}

std::string encode(int64_t expiry_ms, std::string_view payload) {
  std::string bytes(kExpirySize, '\0');
  std::memcpy(bytes.data(), &expiry_ms, kExpirySize);
  bytes.append(payload);
  return bytes;
}

int64_t expiryAfter(int64_t now_micros, milliseconds ttl) {
  return now_micros / 1000 + std::max<milliseconds::rep>(ttl.count(), 1);
}

// The live record under `key`, copied out of the map; rc MDB_NOTFOUND when there is none.
int readLive(MDB_txn* txn, MDB_dbi dbi, std::string_view key, int64_t now_ms,
             std::optional<std::string>& payload) {
  MDB_val k = val(key);
  MDB_val data;
  const int rc = mdb_get(txn, dbi, &k, &data);
  if (rc != 0) return rc;
  const auto record = decode(data);
  if (!record || record->expiry_ms <= now_ms) return MDB_NOTFOUND;
  payload = std::string(record->payload);
  return 0;
}

int store(MDB_txn* txn, MDB_dbi dbi, std::string_view key, const std::string& record) {
  MDB_val k = val(key);
  MDB_val data = val(record);
  return mdb_put(txn, dbi, &k, &data, 0);
}

int remove(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
  MDB_val k = val(key);
  const int rc = mdb_del(txn, dbi, &k, nullptr);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

double refilled(std::string_view payload, Bucket bucket, int64_t now_micros) {
  if (payload.size() != kBucketSize) return bucket.burst;
  double tokens = 0;
  int64_t last = 0;
  std::memcpy(&tokens, payload.data(), sizeof tokens);
  std::memcpy(&last, payload.data() + sizeof tokens, sizeof last);
  const double elapsed = static_cast<double>(std::max<int64_t>(now_micros - last, 0));
  return std::min(bucket.burst, tokens + elapsed * bucket.per_minute / kMicrosPerMinute);
}

std::string bucketPayload(double tokens, int64_t now_micros) {
  std::string bytes(kBucketSize, '\0');
  std::memcpy(bytes.data(), &tokens, sizeof tokens);
  std::memcpy(bytes.data() + sizeof tokens, &now_micros, sizeof now_micros);
  return bytes;
}

}  // namespace

std::unique_ptr<LmdbDatabase> LmdbDatabase::open(Options options, std::string* error) {
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc == 0) rc = mdb_env_set_mapsize(env, options.map_size);
  const unsigned flags = MDB_NOSUBDIR | MDB_NOTLS | (options.durable ? 0u : MDB_NOSYNC);
  if (rc == 0) rc = mdb_env_open(env, options.path.c_str(), flags, 0600);
  MDB_txn* txn = nullptr;
  MDB_dbi dbi = 0;
  if (rc == 0) rc = mdb_txn_begin(env, nullptr, 0, &txn);
  if (rc == 0) rc = mdb_dbi_open(txn, nullptr, 0, &dbi);
  if (rc == 0) {
    rc = mdb_txn_commit(txn);
    txn = nullptr;
  }
  if (rc != 0) {
    if (txn != nullptr) mdb_txn_abort(txn);
    if (env != nullptr) mdb_env_close(env);
    if (error != nullptr) *error = lmdbError(options.path.c_str(), rc);
    return nullptr;
  }
  int dead = 0;
  mdb_reader_check(env, &dead);  // frees reader slots left by crashed processes
  return std::unique_ptr<LmdbDatabase>(new LmdbDatabase(env, dbi, std::move(options)));
}

LmdbDatabase::LmdbDatabase(MDB_env* env, unsigned dbi, Options options)
    : env_(env), dbi_(dbi), options_(std::move(options)) {
  if (!options_.clock) options_.clock = &std::chrono::system_clock::now;
}

LmdbDatabase::~LmdbDatabase() {
  mdb_env_close(env_);
}

int64_t LmdbDatabase::nowMicros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(options_.clock().time_since_epoch())
      .count();
}

// Runs `body` (returning an LMDB rc) in a write transaction: committed when it returns 0.
template <typename Body>
std::string LmdbDatabase::write(Body&& body) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return lmdbError("begin", rc);
  rc = body(txn);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return lmdbError("write", rc);
  }
  rc = mdb_txn_commit(txn);
  return rc == 0 ? std::string() : lmdbError("commit", rc);
}

CountResult LmdbDatabase::increment(std::string_view key, int64_t delta, milliseconds ttl) {
  CountResult result;
  result.error = write([&](MDB_txn* txn) {
    const int64_t now = nowMicros();
    MDB_val k = val(key);
    MDB_val data;
    int rc = mdb_get(txn, dbi_, &k, &data);
    if (rc != 0 && rc != MDB_NOTFOUND) return rc;
    const auto record = rc == 0 ? decode(data) : std::nullopt;
    int64_t expiry = expiryAfter(now, ttl);
    int64_t value = 0;
    if (record && record->expiry_ms > now / 1000) {
      expiry = record->expiry_ms;  // later increments keep the window
      value = std::strtoll(std::string(record->payload).c_str(), nullptr, 10);
    }
    result.value = value + delta;
    return store(txn, dbi_, key, encode(expiry, std::to_string(result.value)));
  });
  return result;
}

ValueResult LmdbDatabase::get(std::string_view key) {
  ValueResult result;
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != 0) return ValueResult{std::nullopt, lmdbError("begin", rc)};
  rc = readLive(txn, dbi_, key, nowMicros() / 1000, result.value);
  mdb_txn_abort(txn);
  if (rc != 0 && rc != MDB_NOTFOUND) result.error = lmdbError("get", rc);
  return result;
}

WriteResult LmdbDatabase::put(std::string_view key, std::string_view value, milliseconds ttl) {
  const std::string record = encode(expiryAfter(nowMicros(), ttl), value);
  return WriteResult{write([&](MDB_txn* txn) { return store(txn, dbi_, key, record); })};
}

WriteResult LmdbDatabase::erase(std::string_view key) {
  return WriteResult{write([&](MDB_txn* txn) { return remove(txn, dbi_, key); })};
}

RateDecision LmdbDatabase::take(std::string_view key, Bucket bucket, double cost) {
  cost = std::max(cost, 0.0);
  RateDecision decision;
  const std::string error = write([&](MDB_txn* txn) {
    // The clock is read inside the transaction, so that a bucket's times never go backwards.
    const int64_t now = nowMicros();
    std::optional<std::string> payload;
    const int rc = readLive(txn, dbi_, key, now / 1000, payload);
    if (rc != 0 && rc != MDB_NOTFOUND) return rc;
    double tokens = payload ? refilled(*payload, bucket, now) : bucket.burst;
    decision = takeTokens(tokens, bucket, cost);
    const double deficit = bucket.burst - tokens;
    if (deficit <= 0) return remove(txn, dbi_, key);  // full: the same as no bucket
    const milliseconds full_in = std::min(refillTime(deficit, bucket), options_.max_bucket_ttl);
    return store(txn, dbi_, key, encode(expiryAfter(now, full_in), bucketPayload(tokens, now)));
  });
  if (!error.empty()) decision = RateDecision{false, 0, milliseconds(0), error};
  return decision;
}

LmdbDatabase::SweepResult LmdbDatabase::sweep(std::size_t max) {
  std::lock_guard lock(sweep_mutex_);
  SweepResult result;
  result.error = write([&](MDB_txn* txn) {
    const int64_t now_ms = nowMicros() / 1000;
    MDB_cursor* cursor = nullptr;
    int rc = mdb_cursor_open(txn, dbi_, &cursor);
    if (rc != 0) return rc;
    MDB_val k = val(sweep_from_);
    MDB_val data;
    rc = mdb_cursor_get(cursor, &k, &data, sweep_from_.empty() ? MDB_FIRST : MDB_SET_RANGE);
    for (; rc == 0 && result.scanned < max; ++result.scanned) {
      const auto record = decode(data);
      if (!record || record->expiry_ms <= now_ms) {
        rc = mdb_cursor_del(cursor, 0);
        if (rc != 0) break;
        ++result.removed;
      }
      rc = mdb_cursor_get(cursor, &k, &data, MDB_NEXT);  // after a delete: the next record
    }
    // Stopped at `max`: the next sweep starts at the record not looked at yet.
    sweep_from_ = rc == 0 ? std::string(view(k)) : std::string();
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? 0 : rc;
  });
  return result;
}

std::string LmdbDatabase::sync() {
  const int rc = mdb_env_sync(env_, 1);
  return rc == 0 ? std::string() : lmdbError("sync", rc);
}

}  // namespace spamgate::store
