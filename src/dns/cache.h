// The resolver's answer cache: results by question key, each kept for its TTL, bounded by an
// entry count and an approximate byte budget; the least recently used entry goes first. The
// clock is a parameter, so that tests can move time. Loop thread only (no locking).
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "dns/types.h"

namespace spamgate::dns {

class Cache {
 public:
  using Clock = std::chrono::steady_clock;

  Cache(std::size_t max_entries, std::size_t max_bytes);

  // The live entry for `key`, with ttl = the seconds it has left (rounded up) and
  // from_cache set; an expired entry is removed and reported as a miss.
  std::optional<Result> find(const std::string& key, Clock::time_point now);
  // Keeps `result` for result.ttl seconds (replacing any entry for `key`); ttl 0 stores
  // nothing. Evicts least recently used entries to stay within both bounds.
  void store(const std::string& key, const Result& result, Clock::time_point now);

  std::size_t size() const { return index_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  struct Entry {
    std::string key;
    Result result;
    Clock::time_point expires;
    std::size_t bytes = 0;
  };
  using List = std::list<Entry>;

  void erase(List::iterator it);

  std::size_t max_entries_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  List lru_;  // most recently used first
  std::unordered_map<std::string, List::iterator> index_;
};

// The cache key of a question: "<type code>/<normalized name>".
std::string cacheKey(const std::string& name, Type type);

}  // namespace spamgate::dns
