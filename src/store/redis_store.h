// The Redis state store, for several gateways sharing what they learned: StateStore and
// RateStore over one hiredis connection on one worker loop (libevent adapter). Make one
// RedisStore per worker event_base.
//
// Contract (beyond StateStore's and RateStore's):
// - Never blocks the loop: the connect is non-blocking (hence `host` must be an IP address: no
//   name lookup), bounded by connect_timeout; every request by request_timeout ("redis
//   timeout"); a reply that comes later is dropped.
// - While not connected (never yet, or since the connection dropped) every request fails at
//   once (on the next loop turn) with "redis unavailable"; requests in flight when it drops
//   fail with "redis connection lost". The store reconnects by itself, after a backoff that
//   starts at min_backoff and doubles up to max_backoff, and again after every failure.
// - Every key gets a TTL: SET ... PX for records, PEXPIRE when a counter is created (one Lua
//   script), the bucket's time to be full again (at most max_bucket_ttl) for token buckets,
//   computed on Redis' own clock (TIME) so that all gateways agree.
// - AUTH and SELECT go first on every new connection, then SCRIPT LOAD of the two scripts.
//
// Hazards: loop thread only. The event_base must outlive the store and every handle. A handle
// may outlive the store (its callback never runs then). A callback must not destroy the
// RedisStore that called it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/rate_store.h"
#include "store/state_store.h"

struct event;
struct event_base;
struct redisAsyncContext;
struct redisReply;

namespace spamgate::store {

class RedisStore final : public StoreBackend {
 public:
  struct Options {
    std::string host = "127.0.0.1";  // an IPv4 or IPv6 address
    uint16_t port = 6379;
    std::string password;  // empty: no AUTH
    int db = 0;            // 0: no SELECT
    std::chrono::milliseconds connect_timeout{250};
    std::chrono::milliseconds request_timeout{250};
    std::chrono::milliseconds min_backoff{100};
    std::chrono::milliseconds max_backoff{5000};
    std::chrono::milliseconds max_bucket_ttl = std::chrono::hours(24);
  };

  // Null with the reason in `error` when the options make no store (host not an address,
  // zero timeouts); otherwise connecting starts at once.
  static std::unique_ptr<RedisStore> create(event_base* base, Options options,
                                            std::string* error = nullptr);
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  std::unique_ptr<PendingRequest> increment(std::string key, int64_t delta, Ttl ttl,
                                            CountDone done) override;
  std::unique_ptr<PendingRequest> get(std::string key, ValueDone done) override;
  std::unique_ptr<PendingRequest> put(std::string key, std::string value, Ttl ttl,
                                      WriteDone done) override;
  std::unique_ptr<PendingRequest> erase(std::string key, WriteDone done) override;
  std::unique_ptr<PendingTake> take(std::string key, Bucket bucket, double cost,
                                    Done done) override;

  // Connected, and AUTH, SELECT and the scripts done: requests are sent.
  bool connected() const { return connected_; }
  // Why the last connection attempt or setup command failed (for the owner's log).
  const std::string& lastError() const { return last_error_; }

  struct Request;
  class Call;
  // Called with the reply (null on errors) and an error (empty: ok).
  using Finish = std::function<void(const redisReply*, const std::string&)>;

 private:
  RedisStore(event_base* base, Options options);
  // `setup`: sent before the connection is ready (AUTH, SELECT, SCRIPT LOAD).
  std::unique_ptr<Call> send(const std::vector<std::string>& args, Finish finish,
                             bool setup = false);
  // EVALSHA of a script from redis_scripts.h; loads the scripts again after a NOSCRIPT.
  std::unique_ptr<Call> evalsha(const std::string& sha1, std::vector<std::string> args,
                                Finish finish);
  void sendSetup();
  void connect();
  void scheduleReconnect();
  void dropConnection();

  static void onConnect(const redisAsyncContext* context, int status);
  static void onDisconnect(const redisAsyncContext* context, int status);
  static void onReply(redisAsyncContext* context, void* reply, void* request);
  static void onConnectTimeout(int, short, void* self);
  static void onReconnectTimer(int, short, void* self);

  event_base* base_;
  Options options_;
  redisAsyncContext* context_ = nullptr;
  bool connected_ = false;
  std::string last_error_;
  std::chrono::milliseconds backoff_;
  event* connect_timer_;
  event* reconnect_timer_;
  std::unordered_map<Request*, std::shared_ptr<Request>> in_flight_;
};

}  // namespace spamgate::store
