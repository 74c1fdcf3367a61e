// For store implementations: runs a function on the next turn of an event loop, never inline.
// The returned handle cancels it; it serves as the cancel handle of both store interfaces.
// Loop thread only; the event_base must outlive the handle.
#pragma once

#include <functional>
#include <memory>

#include "store/rate_store.h"
#include "store/state_store.h"

struct event;
struct event_base;

namespace spamgate::store {

class DeferredCall final : public PendingRequest, public PendingTake {
 public:
  DeferredCall(event_base* base, std::function<void()> fn);
  ~DeferredCall() override;
  DeferredCall(const DeferredCall&) = delete;
  DeferredCall& operator=(const DeferredCall&) = delete;

 private:
  static void onFire(int, short, void* self);

  event* event_;
  std::function<void()> fn_;
};

inline std::unique_ptr<DeferredCall> defer(event_base* base, std::function<void()> fn) {
  return std::make_unique<DeferredCall>(base, std::move(fn));
}

}  // namespace spamgate::store
