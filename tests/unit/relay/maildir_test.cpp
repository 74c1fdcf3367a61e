#include "relay/maildir.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <sstream>

#include "net/worker_pool.h"
#include "test_servers.h"

namespace spamgate::relay {
namespace {

namespace fs = std::filesystem;

struct Result {
  int calls = 0;
  Outcome outcome;
};

Callback capture(Result& result) {
  return [&result](Outcome outcome) {
    ++result.calls;
    result.outcome = std::move(outcome);
  };
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t entries(const fs::path& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator{}));
}

const std::string kMessage = "Subject: hi\r\n\r\n.dot stays as it is\r\nbody\r\n";

class RelayMaildir : public ::testing::Test {
 protected:
  void SetUp() override {
    evthread_use_pthreads();  // the pool posts results to the loop from its threads
    base_ = event_base_new();
    inbox_ = std::make_unique<net::LoopInbox>(base_);
    char tmpl[] = "/tmp/relay-maildir-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    relay_.reset();
    pool_.reset();
    inbox_.reset();
    event_base_free(base_);
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(dir_);
  }
  std::unique_ptr<Transaction> begin(const std::string& maildir, std::size_t max_queue = 16) {
    auto config = std::make_shared<config::Config>();
    config->backend.maildir = maildir;
    config->server.hostname = "host/with:odd";
    pool_ = std::make_unique<net::WorkerPool>(1, max_queue);
    relay_ = makeRelay(base_, config, *inbox_, *pool_);
    return relay_->begin(ClientInfo{});
  }
  bool wait(const Result& r) {
    return test::runUntil(base_, [&r] { return r.calls > 0; });
  }
  // mail + two rcpts, all answered inline.
  void envelope(Transaction& txn) {
    Result mail, rcpt1, rcpt2;
    txn.mail("sender@example.org", "BODY=8BITMIME", capture(mail));
    txn.rcpt("first@example.net", "", capture(rcpt1));
    txn.rcpt("second@example.net", "", capture(rcpt2));
    EXPECT_EQ(mail.calls, 1);
    EXPECT_EQ(mail.outcome.reply.summary(), "250 2.1.0 Ok");
    EXPECT_EQ(rcpt2.calls, 1);
    EXPECT_EQ(rcpt2.outcome.reply.summary(), "250 2.1.5 Ok");
  }

  event_base* base_ = nullptr;
  std::unique_ptr<net::LoopInbox> inbox_;
  std::unique_ptr<net::WorkerPool> pool_;
  std::unique_ptr<Relay> relay_;
  fs::path dir_;
};

TEST_F(RelayMaildir, DeliversIntoNew) {
  fs::path root = dir_ / "deep" / "Maildir";
  auto txn = begin("maildir:" + root.string());
  envelope(*txn);
  Result data;
  txn->deliver(kMessage, capture(data));
  EXPECT_EQ(data.calls, 0);  // on the pool, not inline
  ASSERT_TRUE(wait(data));
  EXPECT_EQ(data.outcome.reply.summary(), "250 2.0.0 Ok");
  const std::string& name = data.outcome.queue_id;
  ASSERT_FALSE(name.empty());
  EXPECT_NE(name.find(".host\\057with\\072odd"), std::string::npos) << name;
  EXPECT_EQ(slurp(root / "new" / name),
            "Return-Path: <sender@example.org>\r\nDelivered-To: first@example.net\r\n" + kMessage);
  EXPECT_EQ(entries(root / "tmp"), 0u);
  EXPECT_EQ(entries(root / "new"), 1u);
  EXPECT_TRUE(fs::is_directory(root / "cur"));
  EXPECT_NE(data.outcome.detail.find(name), std::string::npos);
}

TEST_F(RelayMaildir, AddsTheMissingFinalCrlfAndNullSender) {
  auto txn = begin(dir_.string());
  Result mail, rcpt, data;
  txn->mail("", "", capture(mail));
  txn->rcpt("r@x", "", capture(rcpt));
  txn->deliver("Subject: x\r\n\r\nno newline", capture(data));
  ASSERT_TRUE(wait(data));
  EXPECT_EQ(slurp(dir_ / "new" / data.outcome.queue_id),
            "Return-Path: <>\r\nDelivered-To: r@x\r\nSubject: x\r\n\r\nno newline\r\n");
}

TEST_F(RelayMaildir, UniqueNames) {
  std::set<std::string> names;
  for (int i = 0; i < 5; ++i)
    names.insert(maildirUniqueName("h"));
  EXPECT_EQ(names.size(), 5u);
}

TEST_F(RelayMaildir, DiskErrorIsATempfail) {
  std::ofstream(dir_ / "file") << "x";
  auto txn = begin((dir_ / "file" / "Maildir").string());
  envelope(*txn);
  Result data;
  txn->deliver(kMessage, capture(data));
  ASSERT_TRUE(wait(data));
  EXPECT_EQ(data.outcome.reply.code, 451);
  EXPECT_EQ(data.outcome.reply.enhanced, "4.3.0");
  EXPECT_NE(data.outcome.detail.find("Not a directory"), std::string::npos) << data.outcome.detail;
}

TEST_F(RelayMaildir, UnwritableDirectoryIsATempfail) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores permissions";
  fs::create_directories(dir_ / "tmp");
  fs::create_directories(dir_ / "new");
  fs::create_directories(dir_ / "cur");
  fs::permissions(dir_ / "tmp", fs::perms::owner_read | fs::perms::owner_exec);
  auto txn = begin(dir_.string());
  envelope(*txn);
  Result data;
  txn->deliver(kMessage, capture(data));
  ASSERT_TRUE(wait(data));
  EXPECT_EQ(data.outcome.reply.code, 451);
  EXPECT_NE(data.outcome.detail.find("Permission denied"), std::string::npos);
  fs::permissions(dir_ / "tmp", fs::perms::owner_all);
}

TEST_F(RelayMaildir, FullPoolIsAnInlineTempfail) {
  auto txn = begin(dir_.string(), 0);
  envelope(*txn);
  Result data;
  txn->deliver(kMessage, capture(data));
  EXPECT_EQ(data.calls, 1);
  EXPECT_EQ(data.outcome.reply.summary(),
            "451 4.3.0 Error: local delivery failed, try again later");
}

TEST_F(RelayMaildir, DestroyedTransactionGetsNoCallbackAndSkipsAWriteNotStarted) {
  auto txn = begin(dir_.string());
  envelope(*txn);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  bool blocker_done = false;
  // Keep the only pool thread busy so that the delivery has not started yet.
  ASSERT_TRUE(pool_->post(
      *inbox_, [gate] { gate.wait(); }, [&] { blocker_done = true; }));
  Result data;
  txn->deliver(kMessage, capture(data));
  txn.reset();
  release.set_value();
  ASSERT_TRUE(test::runUntil(base_, [&] { return blocker_done; }));
  test::runFor(base_, std::chrono::milliseconds(200));
  EXPECT_EQ(data.calls, 0);
  EXPECT_FALSE(fs::exists(dir_ / "new") && entries(dir_ / "new") > 0);
}

TEST(RelayMaildirWrite, ReportsTheFailingStep) {
  auto result = writeMaildirMessage("/proc/self/nonexistent-maildir", "name", "", "x\r\n");
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("mkdir /proc/self/nonexistent-maildir"), std::string::npos)
      << result.error;
}

}  // namespace
}  // namespace spamgate::relay
