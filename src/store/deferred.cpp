#include "store/deferred.h"

#include <event2/event.h>

namespace spamgate::store {

DeferredCall::DeferredCall(event_base* base, std::function<void()> fn)
    : event_(event_new(base, -1, 0, &DeferredCall::onFire, this)), fn_(std::move(fn)) {
  event_active(event_, EV_TIMEOUT, 1);
}

DeferredCall::~DeferredCall() {
  event_free(event_);
}

void DeferredCall::onFire(int, short, void* self) {
  // The function may destroy this handle: nothing of it is touched after the call.
  auto fn = std::move(static_cast<DeferredCall*>(self)->fn_);
  fn();
}

}  // namespace spamgate::store
