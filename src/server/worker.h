// A worker: one thread, one event loop, its own listening sockets (SO_REUSEPORT), its own relay
// and blocking-work pool, and the sessions it accepted. The main thread talks to it only
// through reload() and shutdown(), which post to the loop.
#pragma once

#include <chrono>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "log/decision_log.h"
#include "net/listener.h"
#include "net/worker_pool.h"
#include "relay/relay.h"
#include "server/runtime.h"
#include "server/session.h"
#include "store/state_store.h"

struct event_base;
struct event;

namespace spamgate::server {

class Worker {
 public:
  // Binds the listeners now, so that start-up reports an unusable address. Throws.
  Worker(RuntimePtr runtime, log::DecisionLog& decisions, SharedState& shared);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  void join();
  void reload(RuntimePtr runtime);               // thread-safe
  void shutdown(std::chrono::seconds deadline);  // thread-safe; the loop ends when all closed

 private:
  void bind(const config::Config& config);
  void accept(int fd, const sockaddr* peer, bool implicit_tls);
  void onReload(RuntimePtr runtime);
  void onShutdown(std::chrono::seconds deadline);
  void maybeExit();
  static void onDeadline(int, short, void* self);

  event_base* base_;
  std::unique_ptr<net::LoopInbox> inbox_;
  std::unique_ptr<net::WorkerPool> pool_;
  log::DecisionLog& decisions_;
  store::ConnectionCounts& counts_;
  RuntimePtr runtime_;
  std::unique_ptr<store::StoreBackend> store_;  // outlives the sessions (declared before)
  std::shared_ptr<relay::Relay> relay_;
  std::shared_ptr<dns::Resolver> resolver_;
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::unordered_map<Session*, std::unique_ptr<Session>> sessions_;
  event* deadline_ = nullptr;
  bool stopping_ = false;
  bool forced_ = false;
  std::thread thread_;
};

}  // namespace spamgate::server
