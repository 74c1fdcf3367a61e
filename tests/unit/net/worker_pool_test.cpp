// LoopInbox and WorkerPool: work runs on pool threads, results come back on the loop thread,
// a full queue says no at once, and the destructor finishes queued work and joins.
#include "net/worker_pool.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace spamgate::net {
namespace {

using namespace std::chrono_literals;

class WorkerPoolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_EQ(evthread_use_pthreads(), 0); }

  WorkerPoolTest() : base_(event_base_new()), inbox_(std::make_unique<LoopInbox>(base_)) {}
  ~WorkerPoolTest() override {
    inbox_.reset();
    event_base_free(base_);
  }

  // Runs the loop on this thread until `delivered_` reaches `n` or `limit` passes.
  bool runUntil(int n, std::chrono::milliseconds limit = 10s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (delivered_ < n && std::chrono::steady_clock::now() < end) {
      const timeval tick{0, 10 * 1000};
      event_base_loopexit(base_, &tick);
      event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY);
    }
    return delivered_ >= n;
  }

  event_base* base_;
  std::unique_ptr<LoopInbox> inbox_;
  int delivered_ = 0;  // touched on the loop thread only
};

TEST_F(WorkerPoolTest, InboxRunsPostsFromOtherThreadsOnTheLoopInOrder) {
  EXPECT_EQ(inbox_->base(), base_);
  const auto loop_thread = std::this_thread::get_id();
  constexpr int kThreads = 4;
  constexpr int kPosts = 1000;
  std::vector<std::vector<int>> seen(kThreads);
  bool wrong_thread = false;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPosts; ++i) {
        inbox_->post([&, t, i] {
          wrong_thread |= std::this_thread::get_id() != loop_thread;
          seen[static_cast<std::size_t>(t)].push_back(i);
          ++delivered_;
        });
      }
    });
  }
  ASSERT_TRUE(runUntil(kThreads * kPosts));
  for (auto& thread : threads)
    thread.join();
  EXPECT_FALSE(wrong_thread);
  for (const auto& list : seen) {
    ASSERT_EQ(list.size(), static_cast<std::size_t>(kPosts));
    for (int i = 0; i < kPosts; ++i)
      ASSERT_EQ(list[static_cast<std::size_t>(i)], i);
  }
}

TEST_F(WorkerPoolTest, PostFromTheLoopItselfRunsOnALaterWake) {
  bool second = false;
  inbox_->post([&] {
    ++delivered_;
    inbox_->post([&] {
      second = true;
      ++delivered_;
    });
    EXPECT_FALSE(second) << "must not run re-entrantly";
  });
  ASSERT_TRUE(runUntil(2));
  EXPECT_TRUE(second);
}

TEST_F(WorkerPoolTest, WorkOffTheLoopDoneOnTheLoop) {
  const auto loop_thread = std::this_thread::get_id();
  constexpr int kJobs = 50;
  WorkerPool pool(3, 100);
  std::mutex mutex;
  std::set<std::thread::id> work_threads;
  std::vector<int> results(kJobs, 0);
  bool done_off_loop = false;
  bool done_before_work = false;
  for (int i = 0; i < kJobs; ++i) {
    auto value = std::make_shared<int>(0);
    ASSERT_TRUE(pool.post(
        *inbox_,
        [&, i, value] {
          std::this_thread::sleep_for(1ms);
          std::lock_guard lock(mutex);
          work_threads.insert(std::this_thread::get_id());
          *value = i * i;
        },
        [&, i, value] {
          done_off_loop |= std::this_thread::get_id() != loop_thread;
          done_before_work |= *value != i * i;
          results[static_cast<std::size_t>(i)] = *value + 1;
          ++delivered_;
        }));
  }
  ASSERT_TRUE(runUntil(kJobs));
  EXPECT_FALSE(done_off_loop);
  EXPECT_FALSE(done_before_work);
  EXPECT_EQ(work_threads.count(loop_thread), 0u);
  EXPECT_GE(work_threads.size(), 1u);
  EXPECT_LE(work_threads.size(), 3u);
  for (int i = 0; i < kJobs; ++i)
    EXPECT_EQ(results[static_cast<std::size_t>(i)], i * i + 1);
}

TEST_F(WorkerPoolTest, DoneWaitsForTheLoop) {
  WorkerPool pool(1, 4);
  std::promise<void> worked;
  bool done = false;
  ASSERT_TRUE(pool.post(
      *inbox_, [&] { worked.set_value(); }, [&] { done = true; }));
  worked.get_future().wait();
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(done) << "done must not run until the loop runs";
  inbox_->post([&] { ++delivered_; });
  ASSERT_TRUE(runUntil(1));
  EXPECT_TRUE(done);
}

TEST_F(WorkerPoolTest, FullQueueRefusesAtOnce) {
  WorkerPool pool(1, 2);
  std::promise<void> started;
  std::promise<void> release;
  auto released = release.get_future().share();
  std::vector<int> done;
  ASSERT_TRUE(pool.post(
      *inbox_,
      [&, released] {
        started.set_value();
        released.wait();
      },
      [&] {
        done.push_back(0);
        ++delivered_;
      }));
  started.get_future().wait();  // the only thread is busy; the queue is empty
  for (int i = 1; i <= 2; ++i) {
    EXPECT_TRUE(pool.post(
        *inbox_, [] {},
        [&, i] {
          done.push_back(i);
          ++delivered_;
        }))
        << i;
  }
  bool refused_ran = false;
  const auto before = std::chrono::steady_clock::now();
  EXPECT_FALSE(pool.post(
      *inbox_, [&] { refused_ran = true; }, [&] { refused_ran = true; }));
  EXPECT_LT(std::chrono::steady_clock::now() - before, 100ms) << "post() must not wait";
  release.set_value();
  ASSERT_TRUE(runUntil(3));
  EXPECT_EQ(done, (std::vector<int>{0, 1, 2}));
  // Room again once the queue drained.
  EXPECT_TRUE(pool.post(
      *inbox_, [] {}, [&] { ++delivered_; }));
  ASSERT_TRUE(runUntil(4));
  EXPECT_FALSE(refused_ran);
}

TEST_F(WorkerPoolTest, ZeroQueueRefusesEverything) {
  WorkerPool pool(1, 0);
  EXPECT_FALSE(pool.post(
      *inbox_, [] {}, [] {}));
}

TEST_F(WorkerPoolTest, DestructorFinishesQueuedWorkAndJoins) {
  std::atomic<int> finished{0};
  std::atomic<int> running{0};
  {
    WorkerPool pool(2, 100);
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(pool.post(
          *inbox_,
          [&] {
            ++running;
            std::this_thread::sleep_for(20ms);
            --running;
            ++finished;
          },
          [] {}));
    }
  }
  // Joined: every queued job ran to completion and nothing is still running.
  EXPECT_EQ(finished.load(), 10);
  EXPECT_EQ(running.load(), 0);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(finished.load(), 10);
}

TEST_F(WorkerPoolTest, IdlePoolDestroysPromptly) {
  const auto before = std::chrono::steady_clock::now();
  { WorkerPool pool(4, 10); }
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
}

}  // namespace
}  // namespace spamgate::net
