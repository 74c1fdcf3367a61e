// The Lua scripts RedisStore runs with EVALSHA (loaded with SCRIPT LOAD on every connection),
// so that each request is one atomic round trip.
#pragma once

#include <string>

namespace spamgate::store::redis_scripts {

struct Script {
  std::string text;
  std::string sha1;  // lowercase hex, as EVALSHA wants it
};

// KEYS[1] counter; ARGV delta, ttl ms. INCRBY, and PEXPIRE when it created the key (or the key
// had no TTL). Returns the new value.
const Script& increment();

// KEYS[1] bucket hash {tokens, ts (Redis TIME in microseconds)}; ARGV burst, per_minute, cost,
// max ttl ms. The token bucket of rate_store.h on Redis' clock, so that gateways agree; a full
// bucket is deleted, any other gets a TTL = the time to be full again (at most max ttl).
// Returns {allowed 0/1, tokens left as text, retry after ms (-1: never)}.
const Script& takeTokens();

}  // namespace spamgate::store::redis_scripts
