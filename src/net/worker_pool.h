// A bounded pool of threads for work that blocks (fsync, libraries with synchronous DNS, ...),
// so that it never runs on an event loop. The result comes back on the loop that asked for it.
//
// Contract: post() runs `work` on a pool thread and then `done` on the loop of `loop`; `done`
// always runs exactly once (unless the pool is destroyed first), so it must check whether its
// owner still exists (capture a weak token). post() returns false when the queue is full: the
// caller answers with a tempfail rather than waiting.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

struct event_base;
struct event;

namespace spamgate::net {

// Runs callbacks posted from any thread on one event loop.
class LoopInbox {
 public:
  explicit LoopInbox(event_base* base);
  ~LoopInbox();
  LoopInbox(const LoopInbox&) = delete;
  LoopInbox& operator=(const LoopInbox&) = delete;

  void post(std::function<void()> fn);  // thread-safe
  event_base* base() const { return base_; }

 private:
  static void onWake(int, short, void* self);
  event_base* base_;
  event* wake_;
  std::mutex mutex_;
  std::vector<std::function<void()>> pending_;
};

class WorkerPool {
 public:
  WorkerPool(unsigned threads, std::size_t max_queue);
  ~WorkerPool();  // finishes queued work, drops undelivered results
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  bool post(LoopInbox& loop, std::function<void()> work, std::function<void()> done);

 private:
  struct Job {
    LoopInbox* loop;
    std::function<void()> work;
    std::function<void()> done;
  };
  void run();

  std::size_t max_queue_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace spamgate::net
