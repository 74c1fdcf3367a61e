// A StateStore for the greylist and reputation tests: a map with TTLs on a fake clock, which
// answers on the next turn of a real event loop (never inline, as the contract says), or fails
// every request with `failure`.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <map>
#include <string>

#include "store/deferred.h"
#include "store/state_store.h"

namespace spamgate::test {

class FakeStateStore final : public store::StateStore {
 public:
  struct Item {
    std::string value;
    int64_t expires_ms = 0;
  };

  FakeStateStore(event_base* base, const int64_t& now_ms) : base_(base), now_ms_(now_ms) {}

  std::unique_ptr<store::PendingRequest> increment(std::string key, int64_t delta, Ttl ttl,
                                                   CountDone done) override {
    ++requests;
    store::CountResult result{0, failure};
    if (failure.empty()) {
      auto* item = find(key);
      if (item == nullptr) item = &(items[key] = Item{"0", now_ms_ + ttl.count()});
      result.value = std::stoll(item->value) + delta;
      item->value = std::to_string(result.value);
    }
    return later([done = std::move(done), result] { done(result); });
  }
  std::unique_ptr<store::PendingRequest> get(std::string key, ValueDone done) override {
    ++requests;
    store::ValueResult result{std::nullopt, failure};
    if (const auto* item = failure.empty() ? find(key) : nullptr) result.value = item->value;
    return later([done = std::move(done), result] { done(result); });
  }
  std::unique_ptr<store::PendingRequest> put(std::string key, std::string value, Ttl ttl,
                                             WriteDone done) override {
    ++requests;
    if (failure.empty()) items[key] = Item{std::move(value), now_ms_ + ttl.count()};
    return later([done = std::move(done), error = failure] { done({error}); });
  }
  std::unique_ptr<store::PendingRequest> erase(std::string key, WriteDone done) override {
    ++requests;
    if (failure.empty()) items.erase(key);
    return later([done = std::move(done), error = failure] { done({error}); });
  }

  // The live item under `key`, or null (expired items read as absent).
  Item* find(const std::string& key) {
    auto it = items.find(key);
    return it == items.end() || it->second.expires_ms <= now_ms_ ? nullptr : &it->second;
  }

  std::map<std::string, Item> items;
  std::string failure;
  int requests = 0;

 private:
  std::unique_ptr<store::PendingRequest> later(std::function<void()> fn) {
    return store::defer(base_, std::move(fn));
  }

  event_base* base_;
  const int64_t& now_ms_;
};

}  // namespace spamgate::test
