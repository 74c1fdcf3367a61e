// RedisStore's connection and requests; the five operations are in redis_commands.cpp.
#include "store/redis_store.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>

#include "store/deferred.h"
#include "store/redis_call.h"
#include "store/redis_scripts.h"

namespace spamgate::store {

namespace {

timeval toTimeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

bool isAddress(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

}  // namespace

std::unique_ptr<RedisStore> RedisStore::create(event_base* base, Options options,
                                               std::string* error) {
  std::string why;
  if (!isAddress(options.host)) why = "redis host is not an IP address: " + options.host;
  if (options.connect_timeout.count() <= 0 || options.request_timeout.count() <= 0)
    why = "redis timeouts must be positive";
  if (options.min_backoff.count() <= 0 || options.max_backoff < options.min_backoff)
    why = "redis backoff must be positive and min <= max";
  if (!why.empty()) {
    if (error != nullptr) *error = why;
    return nullptr;
  }
  std::unique_ptr<RedisStore> store(new RedisStore(base, std::move(options)));
  store->connect();
  return store;
}

RedisStore::RedisStore(event_base* base, Options options)
    : base_(base),
      options_(std::move(options)),
      backoff_(options_.min_backoff),
      connect_timer_(event_new(base, -1, 0, &RedisStore::onConnectTimeout, this)),
      reconnect_timer_(event_new(base, -1, 0, &RedisStore::onReconnectTimer, this)) {}

RedisStore::~RedisStore() {
  for (auto& [raw, request] : in_flight_)
    request->cancel();  // their handles become inert; hiredis' last callbacks find nothing
  if (context_ != nullptr) {
    redisAsyncContext* context = context_;
    context_ = nullptr;
    context->data = nullptr;
    redisAsyncFree(context);
  }
  event_free(connect_timer_);
  event_free(reconnect_timer_);
}

void RedisStore::connect() {
  context_ = redisAsyncConnect(options_.host.c_str(), options_.port);
  if (context_ == nullptr || context_->err != 0) {
    last_error_ = context_ != nullptr ? context_->errstr : "redis: out of memory";
    if (context_ != nullptr) redisAsyncFree(context_);
    context_ = nullptr;
    scheduleReconnect();
    return;
  }
  context_->data = this;
  redisLibeventAttach(context_, base_);
  redisAsyncSetConnectCallback(context_, &RedisStore::onConnect);
  redisAsyncSetDisconnectCallback(context_, &RedisStore::onDisconnect);
  const timeval timeout = toTimeval(options_.connect_timeout);
  event_add(connect_timer_, &timeout);
}

void RedisStore::scheduleReconnect() {
  connected_ = false;
  const timeval delay = toTimeval(backoff_);
  event_add(reconnect_timer_, &delay);
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
}

// Not from inside a hiredis callback: hiredis frees a context itself after those.
void RedisStore::dropConnection() {
  redisAsyncContext* context = context_;
  context_ = nullptr;
  connected_ = false;
  context->data = nullptr;
  redisAsyncFree(context);
  auto dropped = std::move(in_flight_);
  in_flight_.clear();
  for (auto& [raw, request] : dropped)
    request->complete(nullptr, "redis connection lost");
  scheduleReconnect();
}

void RedisStore::onConnectTimeout(int, short, void* self) {
  auto* store = static_cast<RedisStore*>(self);
  if (store->context_ == nullptr || store->connected_) return;
  store->last_error_ = "redis connect timeout";
  store->dropConnection();
}

void RedisStore::onReconnectTimer(int, short, void* self) {
  static_cast<RedisStore*>(self)->connect();
}

void RedisStore::onConnect(const redisAsyncContext* context, int status) {
  auto* store = static_cast<RedisStore*>(context->data);
  if (store == nullptr || context != store->context_) return;
  event_del(store->connect_timer_);
  if (status != REDIS_OK) {
    store->last_error_ = context->errstr;
    store->context_ = nullptr;  // hiredis frees it after this callback
    store->scheduleReconnect();
    return;
  }
  store->backoff_ = store->options_.min_backoff;
  store->sendSetup();
}

void RedisStore::onDisconnect(const redisAsyncContext* context, int) {
  auto* store = static_cast<RedisStore*>(context->data);
  if (store == nullptr || context != store->context_) return;
  if (context->err != 0) store->last_error_ = context->errstr;  // else: ours, reason kept
  store->context_ = nullptr;
  store->scheduleReconnect();
}

// Requests are refused until the last of these answered well (connected_).
void RedisStore::sendSetup() {
  std::vector<std::vector<std::string>> commands;
  if (!options_.password.empty()) commands.push_back({"AUTH", options_.password});
  if (options_.db != 0) commands.push_back({"SELECT", std::to_string(options_.db)});
  commands.push_back({"SCRIPT", "LOAD", redis_scripts::increment().text});
  commands.push_back({"SCRIPT", "LOAD", redis_scripts::takeTokens().text});
  for (std::size_t i = 0; i < commands.size(); ++i) {
    const bool last = i + 1 == commands.size();
    auto check = [this, last](const redisReply*, const std::string& error) {
      if (context_ == nullptr) return;
      if (error.empty()) {
        connected_ = connected_ || last;
        return;
      }
      last_error_ = error;
      if (error == "redis timeout") {
        dropConnection();  // from our timer: the replies may never come
      } else if (error != "redis connection lost") {
        redisAsyncDisconnect(context_);  // in a reply callback: hiredis closes it afterwards
      }
    };
    // Fire and forget: the handle goes, the callback runs all the same.
    send(commands[i], check, true)->detach();
  }
}

std::unique_ptr<RedisStore::Call> RedisStore::send(const std::vector<std::string>& args,
                                                   Finish finish, bool setup) {
  if (context_ == nullptr || (!connected_ && !setup))
    return Call::failLater(base_, std::move(finish));
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto request = std::make_shared<Request>(std::move(finish));
  if (redisAsyncCommandArgv(context_, &RedisStore::onReply, request.get(),
                            static_cast<int>(argv.size()), argv.data(),
                            lengths.data()) != REDIS_OK) {
    return Call::failLater(base_, std::move(request->finish));
  }
  request->startTimer(base_, options_.request_timeout);
  in_flight_.emplace(request.get(), request);
  return std::make_unique<Call>(std::move(request));
}

void RedisStore::onReply(redisAsyncContext* context, void* reply, void* raw) {
  auto* store = static_cast<RedisStore*>(context->data);
  if (store == nullptr) return;
  const auto it = store->in_flight_.find(static_cast<Request*>(raw));
  if (it == store->in_flight_.end()) return;
  const std::shared_ptr<Request> request = std::move(it->second);
  store->in_flight_.erase(it);
  const auto* answer = static_cast<const redisReply*>(reply);
  if (answer == nullptr) {
    request->complete(nullptr, "redis connection lost");
  } else if (answer->type == REDIS_REPLY_ERROR) {
    request->complete(nullptr, "redis: " + std::string(answer->str, answer->len));
  } else {
    request->complete(answer, "");
  }
}

}  // namespace spamgate::store
