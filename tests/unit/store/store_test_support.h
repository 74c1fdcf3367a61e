// Helpers for the store tests: a temporary directory, a settable system clock, and driving a
// store request to its answer on a loop.
#pragma once

#include <event2/event.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "store/state_store.h"
#include "support/event_loop.h"

namespace spamgate::store::test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "store-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A system clock that moves only when told; safe to read from several threads.
class FakeSystemClock {
 public:
  std::chrono::system_clock::time_point now() const {
    return std::chrono::system_clock::time_point(std::chrono::microseconds(micros_.load()));
  }
  void advance(std::chrono::milliseconds by) { micros_ += by.count() * 1000; }

 private:
  std::atomic<int64_t> micros_{1'800'000'000'000'000};
};

struct Loop {
  Loop() : base(event_base_new()) {}
  ~Loop() { event_base_free(base); }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;
  event_base* base;
};

// Starts a request with a callback storing its result, runs the loop until it came.
template <typename Result, typename Start>
std::optional<Result> await(event_base* base, Start start,
                            std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  std::optional<Result> result;
  auto pending = start([&](Result r) { result = std::move(r); });
  spamgate::test::runUntil(
      base, [&] { return result.has_value(); }, limit);
  return result;
}

// The same for each StateStore request; a request that never answers gives "no answer".
inline CountResult incrementNow(event_base* base, StateStore& store, const std::string& key,
                                int64_t delta, std::chrono::milliseconds ttl) {
  return await<CountResult>(base, [&](auto done) { return store.increment(key, delta, ttl, done); })
      .value_or(CountResult{0, "no answer"});
}
inline ValueResult getNow(event_base* base, StateStore& store, const std::string& key) {
  return await<ValueResult>(base, [&](auto done) { return store.get(key, done); })
      .value_or(ValueResult{std::nullopt, "no answer"});
}
inline WriteResult putNow(event_base* base, StateStore& store, const std::string& key,
                          const std::string& value, std::chrono::milliseconds ttl) {
  return await<WriteResult>(base, [&](auto done) { return store.put(key, value, ttl, done); })
      .value_or(WriteResult{"no answer"});
}
inline WriteResult eraseNow(event_base* base, StateStore& store, const std::string& key) {
  return await<WriteResult>(base, [&](auto done) { return store.erase(key, done); })
      .value_or(WriteResult{"no answer"});
}

}  // namespace spamgate::store::test
