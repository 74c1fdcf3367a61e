// The Lists check: allow lists set the session fact and win over deny lists; deny lists give
// LIST_DENY and 554 5.7.1 (at RCPT by default, at connect, or score only); bad files throw
// naming file:line. Always inline.
#include "checks/lists.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace spamgate::checks {
namespace {

using pipeline::CheckResult;
using pipeline::Stage;

class ListsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("spamgate-lists-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    settings_.allow = {write("allow.txt", "# partners\n192.0.2.128/25\n2001:db8:a::/48\n")};
    settings_.deny = {write("deny.txt", "# abusers\n192.0.2.0/24\n2001:db8::/32\n")};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  // Runs the check for `ip`; it must answer inline.
  CheckResult check(Lists& lists, const std::string& ip) {
    pipeline::Context context;
    context.client_ip = ip;
    context.facts = &facts_;
    int calls = 0;
    CheckResult result;
    auto pending = lists.start(Stage::Connect, context, [&](CheckResult r) {
      ++calls;
      result = std::move(r);
    });
    EXPECT_EQ(pending, nullptr);
    EXPECT_EQ(calls, 1);
    return result;
  }

  std::string allowFile() const { return settings_.allow[0]; }
  std::string denyFile() const { return settings_.deny[0]; }

  std::filesystem::path dir_;
  config::Lists settings_;
  pipeline::SessionFacts facts_;
};

TEST_F(ListsTest, RunsAtConnect) {
  Lists lists(settings_);
  EXPECT_EQ(lists.name(), "lists");
  EXPECT_TRUE(lists.runsAt(Stage::Connect));
  EXPECT_FALSE(lists.runsAt(Stage::Rcpt));
  EXPECT_EQ(lists.allowEntries(), 2u);
  EXPECT_EQ(lists.denyEntries(), 2u);
}

TEST_F(ListsTest, AllowListedClientIsMarkedAndWinsOverDeny) {
  Lists lists(settings_);
  auto result = check(lists, "192.0.2.200");  // on both lists
  ASSERT_EQ(result.symbols.size(), 1u);
  EXPECT_EQ(result.symbols[0].name, "LIST_ALLOW");
  EXPECT_EQ(result.symbols[0].score, 0);
  EXPECT_EQ(result.symbols[0].detail, "192.0.2.128/25 (" + allowFile() + ":2)");
  EXPECT_FALSE(result.opinion);
  EXPECT_TRUE(facts_.allowlisted);
}

TEST_F(ListsTest, AllowListedIpv6) {
  Lists lists(settings_);
  auto result = check(lists, "2001:db8:a::25");
  ASSERT_EQ(result.symbols.size(), 1u);
  EXPECT_EQ(result.symbols[0].detail, "2001:db8:a::/48 (" + allowFile() + ":3)");
  EXPECT_TRUE(facts_.allowlisted);
}

TEST_F(ListsTest, DenyListedClientIsRejectedAtRcptByDefault) {
  Lists lists(settings_);
  auto result = check(lists, "192.0.2.10");
  ASSERT_EQ(result.symbols.size(), 1u);
  EXPECT_EQ(result.symbols[0].name, "LIST_DENY");
  EXPECT_EQ(result.symbols[0].score, 100);
  EXPECT_EQ(result.symbols[0].detail, "192.0.2.0/24 (" + denyFile() + ":2)");
  ASSERT_TRUE(result.opinion);
  EXPECT_EQ(result.opinion->action, policy::Action::Reject);
  EXPECT_EQ(result.opinion->reply.code, 554);
  EXPECT_EQ(result.opinion->reply.enhanced, "5.7.1");
  EXPECT_EQ(result.opinion->reply.text, "Access denied");
  EXPECT_EQ(result.opinion->reason, "lists: LIST_DENY 192.0.2.0/24 (" + denyFile() + ":2)");
  EXPECT_TRUE(result.opinion->at_rcpt);
  EXPECT_FALSE(facts_.allowlisted);
}

TEST_F(ListsTest, MappedClientMatchesIpv4Entries) {
  Lists lists(settings_);
  auto result = check(lists, "::ffff:192.0.2.10");
  ASSERT_EQ(result.symbols.size(), 1u);
  EXPECT_EQ(result.symbols[0].name, "LIST_DENY");
  EXPECT_EQ(check(lists, "2001:db8:b::1").symbols.at(0).detail,
            "2001:db8::/32 (" + denyFile() + ":3)");
}

TEST_F(ListsTest, RejectAtConnect) {
  settings_.reject_at = config::RejectAt::Connect;
  settings_.deny_score = 42;
  Lists lists(settings_);
  auto result = check(lists, "192.0.2.1");
  EXPECT_EQ(result.symbols.at(0).score, 42);
  ASSERT_TRUE(result.opinion);
  EXPECT_FALSE(result.opinion->at_rcpt);
}

TEST_F(ListsTest, ScoreOnlyGivesNoOpinion) {
  settings_.score_only = true;
  Lists lists(settings_);
  auto result = check(lists, "192.0.2.1");
  ASSERT_EQ(result.symbols.size(), 1u);
  EXPECT_EQ(result.symbols[0].name, "LIST_DENY");
  EXPECT_FALSE(result.opinion);
}

TEST_F(ListsTest, OtherClientsGetNothing) {
  Lists lists(settings_);
  for (const char* ip : {"198.51.100.1", "2001:db9::1", "::1", "not-an-ip", ""}) {
    auto result = check(lists, ip);
    EXPECT_TRUE(result.symbols.empty()) << ip;
    EXPECT_FALSE(result.opinion) << ip;
  }
  EXPECT_FALSE(facts_.allowlisted);
}

TEST_F(ListsTest, NoFilesNoFactsPointer) {
  Lists lists(config::Lists{});
  pipeline::Context context;
  context.client_ip = "192.0.2.1";
  int calls = 0;
  EXPECT_EQ(lists.start(Stage::Connect, context,
                        [&](CheckResult r) {
                          ++calls;
                          EXPECT_TRUE(r.symbols.empty());
                        }),
            nullptr);
  EXPECT_EQ(calls, 1);
}

TEST_F(ListsTest, AllowWithoutFactsPointerStillAnswers) {
  Lists lists(settings_);
  pipeline::Context context;
  context.client_ip = "192.0.2.200";
  CheckResult result;
  lists.start(Stage::Connect, context, [&](CheckResult r) { result = std::move(r); });
  EXPECT_EQ(result.symbols.at(0).name, "LIST_ALLOW");
}

TEST_F(ListsTest, BadFilesThrowNamingFileAndLine) {
  settings_.deny.push_back(write("bad.txt", "192.0.2.0/24\n\n192.0.2.300\n"));
  try {
    Lists lists(settings_);
    FAIL() << "no error";
  } catch (const CidrError& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir_ / "bad.txt").string() + ":3: '192.0.2.300': not an IP address");
  }
  settings_.deny.back() = (dir_ / "missing.txt").string();
  EXPECT_THROW(Lists{settings_}, CidrError);
}

}  // namespace
}  // namespace spamgate::checks
