// Concurrent connections, in total and per client address, shared by all worker threads.
// A Ticket counts one connection for as long as it lives.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace spamgate::store {

class ConnectionCounts {
 public:
  class Ticket {
   public:
    Ticket(ConnectionCounts& counts, std::string ip);
    ~Ticket();
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

   private:
    ConnectionCounts& counts_;
    std::string ip_;
  };

  struct Snapshot {
    unsigned total = 0;
    unsigned from_ip = 0;
  };

  std::unique_ptr<Ticket> admit(const std::string& ip) {
    return std::make_unique<Ticket>(*this, ip);
  }
  Snapshot current(const std::string& ip) const;

 private:
  mutable std::mutex mutex_;
  unsigned total_ = 0;
  std::unordered_map<std::string, unsigned> per_ip_;
};

}  // namespace spamgate::store
