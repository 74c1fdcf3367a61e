// Driving a libevent loop from a test: run until a condition holds, or for a while.
#pragma once

#include <chrono>
#include <functional>

struct event_base;

namespace spamgate::test {

// Runs `base` until `done()` or `limit` passed; returns done().
bool runUntil(event_base* base, const std::function<bool()>& done,
              std::chrono::milliseconds limit = std::chrono::milliseconds(10000));
void runFor(event_base* base, std::chrono::milliseconds duration);

}  // namespace spamgate::test
