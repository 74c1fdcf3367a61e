#include "quarantine/pruner.h"

#include <utility>

#include "log/decision_log.h"
#include "quarantine/quarantine.h"

namespace spamgate::quarantine {

namespace {

void pruneOnce(const PruneSettings& s) {
  if (s.dir.empty()) return;
  const PruneResult r =
      Quarantine(s.dir).prune(std::chrono::system_clock::now(), s.max_age, s.max_bytes);
  if (!r.error.empty()) log::message(log::Level::Error, "quarantine prune: " + r.error);
  if (r.removed > 0) {
    log::message(log::Level::Info, "quarantine: pruned " + std::to_string(r.removed) +
                                       " messages, " + std::to_string(r.bytes_kept) +
                                       " bytes kept in " + s.dir);
  }
}

}  // namespace

Pruner::Pruner(std::function<PruneSettings()> settings, std::chrono::seconds interval)
    : settings_(std::move(settings)), interval_(interval), thread_([this] { run(); }) {}

Pruner::~Pruner() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Pruner::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    pruneOnce(settings_());
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

}  // namespace spamgate::quarantine
