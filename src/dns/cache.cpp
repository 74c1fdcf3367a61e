#include "dns/cache.h"

namespace spamgate::dns {

namespace {

// Rough heap cost of an entry: strings, list and hash nodes.
constexpr std::size_t kEntryOverhead = 160;
constexpr std::size_t kRecordOverhead = 32;

std::size_t entryBytes(const std::string& key, const Result& result) {
  std::size_t bytes = kEntryOverhead + 2 * key.size();
  for (const std::string& record : result.records)
    bytes += kRecordOverhead + record.size();
  return bytes;
}

}  // namespace

std::string cacheKey(const std::string& name, Type type) {
  return std::to_string(static_cast<unsigned>(type)) + "/" + name;
}

Cache::Cache(std::size_t max_entries, std::size_t max_bytes)
    : max_entries_(max_entries), max_bytes_(max_bytes) {}

std::optional<Result> Cache::find(const std::string& key, Clock::time_point now) {
  auto found = index_.find(key);
  if (found == index_.end()) return std::nullopt;
  List::iterator it = found->second;
  if (it->expires <= now) {
    erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it);
  Result result = it->result;
  auto left = std::chrono::ceil<std::chrono::seconds>(it->expires - now);
  result.ttl = static_cast<uint32_t>(left.count());
  result.from_cache = true;
  return result;
}

void Cache::store(const std::string& key, const Result& result, Clock::time_point now) {
  if (auto found = index_.find(key); found != index_.end()) erase(found->second);
  std::size_t bytes = entryBytes(key, result);
  if (result.ttl == 0 || max_entries_ == 0 || bytes > max_bytes_) return;
  while (!lru_.empty() && (index_.size() >= max_entries_ || bytes_ + bytes > max_bytes_)) {
    erase(std::prev(lru_.end()));
  }
  lru_.push_front(Entry{key, result, now + std::chrono::seconds(result.ttl), bytes});
  lru_.front().result.from_cache = false;
  index_.emplace(key, lru_.begin());
  bytes_ += bytes;
}

void Cache::erase(List::iterator it) {
  bytes_ -= it->bytes;
  index_.erase(it->key);
  lru_.erase(it);
}

}  // namespace spamgate::dns
