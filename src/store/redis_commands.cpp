// RedisStore's operations: the commands they send and how they read the replies.
#include <hiredis/hiredis.h>

#include <charconv>
#include <cmath>

#include "store/redis_call.h"
#include "store/redis_scripts.h"
#include "store/redis_store.h"

namespace spamgate::store {

namespace {

using std::chrono::milliseconds;

constexpr const char* kUnexpected = "redis: unexpected reply";
constexpr long long kNeverMillis = 1'000'000'000'000;  // retry_after past this is "never"

std::string number(double value) {
  char buffer[32];
  const auto end =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, 17);
  return std::string(buffer, end.ptr);
}

std::string millis(milliseconds ttl) {
  return std::to_string(std::max<milliseconds::rep>(ttl.count(), 1));
}

std::string_view text(const redisReply* reply) {
  return {reply->str, reply->len};
}

// The take script's {allowed, tokens, retry after}; false when the reply has another shape.
bool readDecision(const redisReply* reply, RateDecision& decision) {
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) return false;
  const redisReply* allowed = reply->element[0];
  const redisReply* tokens = reply->element[1];
  const redisReply* retry = reply->element[2];
  if (allowed->type != REDIS_REPLY_INTEGER || tokens->type != REDIS_REPLY_STRING ||
      retry->type != REDIS_REPLY_INTEGER) {
    return false;
  }
  decision.allowed = allowed->integer == 1;
  const auto end = tokens->str + tokens->len;
  if (std::from_chars(tokens->str, end, decision.remaining).ptr != end) return false;
  decision.retry_after = retry->integer < 0 || retry->integer >= kNeverMillis
                             ? milliseconds::max()
                             : milliseconds(retry->integer);
  return true;
}

}  // namespace

std::unique_ptr<RedisStore::Call> RedisStore::evalsha(const std::string& sha1,
                                                      std::vector<std::string> args,
                                                      Finish finish) {
  args.insert(args.begin(), {"EVALSHA", sha1, "1"});
  return send(
      args, [this, finish = std::move(finish)](const redisReply* reply, const std::string& error) {
        // The scripts were flushed (SCRIPT FLUSH, a failover): load them again for the next ones.
        if (error.rfind("redis: NOSCRIPT", 0) == 0) sendSetup();
        finish(reply, error);
      });
}

std::unique_ptr<PendingRequest> RedisStore::increment(std::string key, int64_t delta, Ttl ttl,
                                                      CountDone done) {
  return evalsha(redis_scripts::increment().sha1,
                 {std::move(key), std::to_string(delta), millis(ttl)},
                 [done = std::move(done)](const redisReply* reply, const std::string& error) {
                   CountResult result{0, error};
                   if (reply != nullptr && reply->type == REDIS_REPLY_INTEGER)
                     result.value = reply->integer;
                   else if (error.empty())
                     result.error = kUnexpected;
                   done(std::move(result));
                 });
}

std::unique_ptr<PendingRequest> RedisStore::get(std::string key, ValueDone done) {
  return send({"GET", std::move(key)},
              [done = std::move(done)](const redisReply* reply, const std::string& error) {
                ValueResult result{std::nullopt, error};
                if (reply != nullptr && reply->type == REDIS_REPLY_STRING)
                  result.value = std::string(text(reply));
                else if (error.empty() && (reply == nullptr || reply->type != REDIS_REPLY_NIL))
                  result.error = kUnexpected;
                done(std::move(result));
              });
}

std::unique_ptr<PendingRequest> RedisStore::put(std::string key, std::string value, Ttl ttl,
                                                WriteDone done) {
  return send({"SET", std::move(key), std::move(value), "PX", millis(ttl)},
              [done = std::move(done)](const redisReply*, const std::string& error) {
                done(WriteResult{error});
              });
}

std::unique_ptr<PendingRequest> RedisStore::erase(std::string key, WriteDone done) {
  return send({"DEL", std::move(key)},
              [done = std::move(done)](const redisReply*, const std::string& error) {
                done(WriteResult{error});
              });
}

std::unique_ptr<PendingTake> RedisStore::take(std::string key, Bucket bucket, double cost,
                                              Done done) {
  std::vector<std::string> args{std::move(key), number(bucket.burst), number(bucket.per_minute),
                                number(std::max(cost, 0.0)), millis(options_.max_bucket_ttl)};
  return evalsha(redis_scripts::takeTokens().sha1, std::move(args),
                 [done = std::move(done)](const redisReply* reply, const std::string& error) {
                   RateDecision decision;
                   decision.error = error;
                   if (reply != nullptr && !readDecision(reply, decision))
                     decision = RateDecision{false, 0, milliseconds(0), kUnexpected};
                   done(std::move(decision));
                 });
}

}  // namespace spamgate::store
