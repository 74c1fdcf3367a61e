#include "support/event_loop.h"

#include <event2/event.h>

namespace spamgate::test {

namespace {

void noop(evutil_socket_t, short, void*) {}

}  // namespace

bool runUntil(event_base* base, const std::function<bool()>& done,
              std::chrono::milliseconds limit) {
  // A periodic tick keeps EVLOOP_ONCE from blocking forever when nothing else is pending.
  event* tick = event_new(base, -1, EV_PERSIST, &noop, nullptr);
  timeval tv{0, 10000};
  event_add(tick, &tv);
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    event_base_loop(base, EVLOOP_ONCE);
  }
  event_free(tick);
  return done();
}

void runFor(event_base* base, std::chrono::milliseconds duration) {
  auto end = std::chrono::steady_clock::now() + duration;
  runUntil(
      base, [end] { return std::chrono::steady_clock::now() >= end; }, duration * 2);
}

}  // namespace spamgate::test
