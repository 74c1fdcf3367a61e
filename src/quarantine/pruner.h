// Prunes the quarantine in the background: once at start, then every `interval`, on a thread
// of its own (directory scans and unlinks block). The settings are asked for on each round, so
// a reloaded configuration applies from the next one. Stops (and joins) on destruction.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace spamgate::quarantine {

struct PruneSettings {
  std::string dir;  // empty: nothing to prune this round
  std::chrono::seconds max_age{0};
  uint64_t max_bytes = 0;
};

class Pruner {
 public:
  Pruner(std::function<PruneSettings()> settings, std::chrono::seconds interval);
  ~Pruner();
  Pruner(const Pruner&) = delete;
  Pruner& operator=(const Pruner&) = delete;

 private:
  void run();

  std::function<PruneSettings()> settings_;
  std::chrono::seconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace spamgate::quarantine
