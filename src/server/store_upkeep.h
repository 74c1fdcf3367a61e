// Upkeep of the embedded store's file on the main loop: fsync every few seconds (the database
// is opened without a sync per write, so a power cut loses at most that much), and a sweep of
// expired records every minute, a bounded number at a time. LMDB's calls take microseconds to
// a few milliseconds, which the main loop (signals, metrics) can afford. Destroying it stops
// the timer and syncs once more.
#pragma once

#include <memory>

#include "store/lmdb_database.h"

struct event;
struct event_base;

namespace spamgate::server {

class StoreUpkeep {
 public:
  StoreUpkeep(event_base* base, std::shared_ptr<store::LmdbDatabase> database);
  ~StoreUpkeep();
  StoreUpkeep(const StoreUpkeep&) = delete;
  StoreUpkeep& operator=(const StoreUpkeep&) = delete;

 private:
  static void onTick(int, short, void* self);
  void sync();

  std::shared_ptr<store::LmdbDatabase> database_;
  event* timer_;
  unsigned ticks_ = 0;
};

}  // namespace spamgate::server
