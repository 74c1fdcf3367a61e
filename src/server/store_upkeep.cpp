#include "server/store_upkeep.h"

#include <event2/event.h>

#include <string>

#include "log/decision_log.h"

namespace spamgate::server {

namespace {

constexpr timeval kTick{5, 0};
constexpr unsigned kTicksPerSweep = 12;
constexpr std::size_t kSweepBatch = 10000;

}  // namespace

StoreUpkeep::StoreUpkeep(event_base* base, std::shared_ptr<store::LmdbDatabase> database)
    : database_(std::move(database)),
      timer_(event_new(base, -1, EV_PERSIST, &StoreUpkeep::onTick, this)) {
  event_add(timer_, &kTick);
}

StoreUpkeep::~StoreUpkeep() {
  event_free(timer_);
  sync();
}

void StoreUpkeep::sync() {
  const std::string error = database_->sync();
  if (!error.empty()) log::message(log::Level::Error, "store: sync: " + error);
}

void StoreUpkeep::onTick(int, short, void* self) {
  auto* upkeep = static_cast<StoreUpkeep*>(self);
  upkeep->sync();
  if (++upkeep->ticks_ % kTicksPerSweep != 0) return;
  const auto swept = upkeep->database_->sweep(kSweepBatch);
  if (!swept.error.empty()) log::message(log::Level::Error, "store: sweep: " + swept.error);
}

}  // namespace spamgate::server
