#include "store/connection_counts.h"

namespace spamgate::store {

ConnectionCounts::Ticket::Ticket(ConnectionCounts& counts, std::string ip)
    : counts_(counts), ip_(std::move(ip)) {
  std::lock_guard lock(counts_.mutex_);
  ++counts_.total_;
  ++counts_.per_ip_[ip_];
}

ConnectionCounts::Ticket::~Ticket() {
  std::lock_guard lock(counts_.mutex_);
  --counts_.total_;
  auto& count = counts_.per_ip_[ip_];
  if (--count == 0) counts_.per_ip_.erase(ip_);
}

ConnectionCounts::Snapshot ConnectionCounts::current(const std::string& ip) const {
  std::lock_guard lock(mutex_);
  auto it = per_ip_.find(ip);
  return Snapshot{total_, it == per_ip_.end() ? 0u : it->second};
}

}  // namespace spamgate::store
