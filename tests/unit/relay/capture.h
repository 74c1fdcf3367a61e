// What a relay callback delivered, for the backend tests: how often it ran and the last outcome.
#pragma once

#include <utility>

#include "relay/relay.h"

namespace spamgate::relay::test {

struct Result {
  int calls = 0;
  Outcome outcome;
};

inline Callback capture(Result& result) {
  return [&result](Outcome outcome) {
    ++result.calls;
    result.outcome = std::move(outcome);
  };
}

inline const ClientInfo kClient{"192.0.2.7", 40000, "client.example", "c.example", true};

}  // namespace spamgate::relay::test
