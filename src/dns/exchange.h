// One question on the wire (internal to src/dns): UDP to the nameservers in turn, TCP to the
// same server when the UDP answer is truncated, until a valid answer or the deadline.
//
// Contract:
// - start() sends the first try and returns; `done` runs exactly once, from a libevent
//   callback (never inside start()), unless the Exchange is destroyed first: destroying it
//   closes its sockets and `done` never runs.
// - Each try uses a fresh UDP socket (kernel-chosen random source port, connected to the
//   server) and a fresh random 16-bit id; answers failing parseAnswer()'s checks or coming
//   from another address are dropped and the try keeps waiting.
// - Deadline: attempts x timeout from start(). A try lasts `timeout` (a TCP retry restarts
//   that clock), never past the deadline; then the next server, or Timeout.
// - SERVFAIL/REFUSED move on to the next server when there is another one and a try left;
//   the last such answer is the result when the tries run out.
// - `done` may destroy the Exchange: nothing touches it after `done` returns.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "dns/codec.h"
#include "dns/options.h"
#include "dns/types.h"

struct bufferevent;
struct event;
struct event_base;

namespace spamgate::dns {

// What the exchanges of one resolver share (loop thread only).
struct Transport {
  event_base* base = nullptr;
  std::vector<Nameserver> servers;
  std::chrono::milliseconds timeout{2000};
  unsigned attempts = 2;
  Stats* stats = nullptr;
  std::vector<uint8_t> scratch = std::vector<uint8_t>(65536);  // UDP receive buffer
};

class Exchange {
 public:
  using Clock = std::chrono::steady_clock;
  using Done = std::function<void(Result)>;

  // `query` comes from buildQuery() for `question`; its id is replaced on every try.
  Exchange(Transport& transport, Question question, std::vector<uint8_t> query, Done done);
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  void start();

 private:
  static void onUdpCb(int fd, short what, void* self);
  static void onTimerCb(int fd, short what, void* self);
  static void onTcpReadCb(bufferevent* bev, void* self);
  static void onTcpEventCb(bufferevent* bev, short what, void* self);

  const Nameserver& server() const;
  void beginTry();
  bool openUdp();
  void beginTcp();
  void onUdpReadable();
  void onTcpReadable();
  void onTimer();
  void onAnswer(Result result);
  void advance();
  void fail(Status status);  // a local failure: reported from the loop
  void finish(Result result);
  void arm(std::chrono::milliseconds delay);
  std::chrono::milliseconds tryBudget() const;
  void closeSockets();

  Transport& transport_;
  Question question_;
  std::vector<uint8_t> query_;
  Done done_;
  unsigned attempt_ = 0;
  Clock::time_point deadline_;
  Status failure_ = Status::Timeout;  // the result when the tries run out
  bool report_now_ = false;           // the timer reports a local failure, not a timeout
  int udp_fd_ = -1;
  event* udp_event_ = nullptr;
  event* timer_ = nullptr;
  bufferevent* tcp_ = nullptr;
};

}  // namespace spamgate::dns
