// Helpers of the DKIM tests: an offload on real threads (the work on a std::thread, `done`
// posted back to the loop, as the worker pool does), test data files, LF -> CRLF.
#pragma once

#include <event2/event.h>

#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "auth/dkim.h"

namespace spamgate::test {

class ThreadOffload {
 public:
  explicit ThreadOffload(event_base* base)
      : timer_(event_new(base, -1, EV_PERSIST, &ThreadOffload::onTick, this)) {
    const timeval tv{0, 2000};
    event_add(timer_, &tv);
  }
  ~ThreadOffload() {
    for (std::thread& thread : threads_)
      thread.join();
    event_free(timer_);
  }
  ThreadOffload(const ThreadOffload&) = delete;
  ThreadOffload& operator=(const ThreadOffload&) = delete;

  bool refuse = false;  // answer "queue full"
  int jobs = 0;         // jobs taken
  std::vector<std::thread::id> worker_ids;

  auth::DkimOffload offload() {
    return [this](std::function<void()> work, std::function<void()> done) {
      if (refuse) return false;
      ++jobs;
      threads_.emplace_back([this, work = std::move(work), done = std::move(done)] {
        work();
        std::lock_guard<std::mutex> lock(mutex_);
        worker_ids.push_back(std::this_thread::get_id());
        ready_.push_back(done);
      });
      return true;
    };
  }

 private:
  static void onTick(evutil_socket_t, short, void* self) {
    auto* offload = static_cast<ThreadOffload*>(self);
    std::vector<std::function<void()>> ready;
    {
      std::lock_guard<std::mutex> lock(offload->mutex_);
      ready.swap(offload->ready_);
    }
    for (auto& done : ready)
      done();
  }

  event* timer_;
  std::mutex mutex_;
  std::vector<std::function<void()>> ready_;
  std::vector<std::thread> threads_;
};

inline bool readFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

// The test vectors are LF files; SMTP gives CRLF.
inline std::string toCrlf(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out.push_back('\r');
    out.push_back(text[i]);
  }
  return out;
}

}  // namespace spamgate::test
