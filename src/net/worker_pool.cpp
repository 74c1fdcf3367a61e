#include "net/worker_pool.h"

#include <event2/event.h>

namespace spamgate::net {

LoopInbox::LoopInbox(event_base* base)
    : base_(base), wake_(event_new(base, -1, 0, &LoopInbox::onWake, this)) {}

LoopInbox::~LoopInbox() {
  event_free(wake_);
}

void LoopInbox::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(fn));
  }
  event_active(wake_, 0, 0);  // thread-safe once evthread_use_pthreads() ran
}

void LoopInbox::onWake(int, short, void* self) {
  auto* inbox = static_cast<LoopInbox*>(self);
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(inbox->mutex_);
    batch.swap(inbox->pending_);
  }
  for (auto& fn : batch)
    fn();
}

WorkerPool::WorkerPool(unsigned threads, std::size_t max_queue) : max_queue_(max_queue) {
  for (unsigned i = 0; i < threads; ++i)
    threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_)
    t.join();
}

bool WorkerPool::post(LoopInbox& loop, std::function<void()> work, std::function<void()> done) {
  {
    std::lock_guard lock(mutex_);
    if (jobs_.size() >= max_queue_) return false;
    jobs_.push_back(Job{&loop, std::move(work), std::move(done)});
  }
  ready_.notify_one();
  return true;
}

void WorkerPool::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job.work();
    job.loop->post(std::move(job.done));
  }
}

}  // namespace spamgate::net
