// RedisStore's requests in flight (internal to redis_store.cpp and redis_commands.cpp).
// A Request lives while hiredis holds it (in_flight_) or a Call refers to it; its `finish` runs
// at most once: on the reply, on its timeout, or never once cancelled.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <memory>
#include <string>

#include "store/deferred.h"
#include "store/redis_store.h"

namespace spamgate::store {

struct RedisStore::Request {
  explicit Request(Finish done) : finish(std::move(done)) {}
  ~Request() { stopTimer(); }
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  void startTimer(event_base* base, std::chrono::milliseconds timeout) {
    timer = event_new(base, -1, 0, &Request::onTimeout, this);
    const timeval tv{static_cast<time_t>(timeout.count() / 1000),
                     static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    event_add(timer, &tv);
  }
  void stopTimer() {
    if (timer != nullptr) event_free(timer);
    timer = nullptr;
  }
  void cancel() {
    finish = nullptr;
    stopTimer();
  }
  void complete(const redisReply* reply, const std::string& error) {
    stopTimer();
    Finish done = std::move(finish);
    finish = nullptr;
    if (done) done(reply, error);
  }
  static void onTimeout(int, short, void* self) {
    static_cast<Request*>(self)->complete(nullptr, "redis timeout");
  }

  Finish finish;
  event* timer = nullptr;
};

// The handle a caller holds: destroying it cancels the request (or the deferred failure).
class RedisStore::Call final : public PendingRequest, public PendingTake {
 public:
  explicit Call(std::shared_ptr<Request> request) : request_(std::move(request)) {}
  explicit Call(std::unique_ptr<DeferredCall> deferred) : deferred_(std::move(deferred)) {}
  ~Call() override {
    if (request_) request_->cancel();
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  static std::unique_ptr<Call> failLater(event_base* base, Finish finish) {
    return std::make_unique<Call>(defer(base, [finish = std::move(finish)] {
      if (finish) finish(nullptr, "redis unavailable");
    }));
  }
  // The request goes on without a handle (its callback still runs).
  void detach() { request_.reset(); }

 private:
  std::shared_ptr<Request> request_;
  std::unique_ptr<DeferredCall> deferred_;
};

}  // namespace spamgate::store
