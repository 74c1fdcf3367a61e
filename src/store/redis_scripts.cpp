#include "store/redis_scripts.h"

#include <openssl/sha.h>

#include <array>
#include <cstdio>

namespace spamgate::store::redis_scripts {

namespace {

Script make(std::string text) {
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  std::string hex;
  for (unsigned char byte : digest) {
    std::array<char, 3> two{};
    std::snprintf(two.data(), two.size(), "%02x", byte);
    hex += two.data();
  }
  return Script{std::move(text), std::move(hex)};
}

}  // namespace

const Script& increment() {
  static const Script script = make(R"lua(
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if created or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
)lua");
  return script;
}

const Script& takeTokens() {
  static const Script script = make(R"lua(
local burst = tonumber(ARGV[1])
local per_minute = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local max_ttl = tonumber(ARGV[4])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tokens = burst
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
if saved[1] and saved[2] then
  local elapsed = math.max(now - tonumber(saved[2]), 0)
  tokens = math.min(burst, tonumber(saved[1]) + elapsed * per_minute / 60e6)
end
local allowed = 0
local retry = 0
if tokens + 1e-9 >= cost then
  tokens = math.max(tokens - cost, 0)
  allowed = 1
elseif cost > burst or per_minute <= 0 then
  retry = -1
else
  retry = math.ceil((cost - tokens) * 60000 / per_minute)
end
local deficit = burst - tokens
if deficit <= 0 then
  redis.call('DEL', KEYS[1])
else
  local ttl = max_ttl
  if per_minute > 0 then
    ttl = math.min(math.ceil(deficit * 60000 / per_minute), max_ttl)
  end
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts',
             string.format('%.17g', now))
  redis.call('PEXPIRE', KEYS[1], math.max(ttl, 1))
end
return {allowed, string.format('%.17g', tokens), retry}
)lua");
  return script;
}

}  // namespace spamgate::store::redis_scripts
