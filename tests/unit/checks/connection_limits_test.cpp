// ConnectionLimits: the counts include the connection being checked; reaching a limit is
// allowed, passing it gets 421 4.7.0 and a disconnect; released tickets make room again.
#include "checks/connection_limits.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <vector>

namespace spamgate::checks {
namespace {

using pipeline::CheckResult;
using pipeline::Stage;
using Tickets = std::vector<std::unique_ptr<store::ConnectionCounts::Ticket>>;

class ConnectionLimitsTest : public ::testing::Test {
 protected:
  // Runs the check for `ip`, as the session does after admitting the connection.
  CheckResult check(const std::string& ip) {
    pipeline::Context context;
    context.client_ip = ip;
    int calls = 0;
    CheckResult result;
    auto pending = limits_.start(Stage::Connect, context, [&](CheckResult r) {
      ++calls;
      result = std::move(r);
    });
    EXPECT_EQ(pending, nullptr) << "the check answers inline";
    EXPECT_EQ(calls, 1);
    return result;
  }

  void admit(const std::string& ip, int n) {
    for (int i = 0; i < n; ++i)
      tickets_.push_back(counts_.admit(ip));
  }

  static void expectRefused(const CheckResult& result, const std::string& symbol,
                            const std::string& detail) {
    ASSERT_EQ(result.symbols.size(), 1u);
    EXPECT_EQ(result.symbols[0].name, symbol);
    EXPECT_EQ(result.symbols[0].detail, detail);
    ASSERT_TRUE(result.opinion);
    EXPECT_EQ(result.opinion->action, policy::Action::Disconnect);
    EXPECT_EQ(result.opinion->reply.code, 421);
    EXPECT_EQ(result.opinion->reply.enhanced, "4.7.0");
    EXPECT_TRUE(result.opinion->reply.closes);
    EXPECT_EQ(result.opinion->reason, "connection_limits: " + symbol);
  }

  static void expectAccepted(const CheckResult& result) {
    EXPECT_TRUE(result.symbols.empty());
    EXPECT_FALSE(result.opinion);
  }

  store::ConnectionCounts counts_;
  ConnectionLimits limits_{counts_, ConnectionLimitsSettings{5, 2}};
  Tickets tickets_;
};

TEST_F(ConnectionLimitsTest, NameAndStage) {
  EXPECT_EQ(limits_.name(), "connection_limits");
  EXPECT_TRUE(limits_.runsAt(Stage::Connect));
  for (auto stage : {Stage::Helo, Stage::Mail, Stage::Rcpt, Stage::Data, Stage::EndOfData})
    EXPECT_FALSE(limits_.runsAt(stage));
}

TEST_F(ConnectionLimitsTest, PerIpAtTheLimitIsAllowed) {
  admit("192.0.2.1", 2);
  expectAccepted(check("192.0.2.1"));
}

TEST_F(ConnectionLimitsTest, PerIpOverTheLimitIsRefused) {
  admit("192.0.2.1", 3);
  const auto result = check("192.0.2.1");
  expectRefused(result, "CONN_LIMIT_IP", "3 connections from 192.0.2.1, limit 2");
  EXPECT_EQ(result.opinion->reply.text, "Too many connections from your address, try again later");
  // Another address is not affected.
  admit("198.51.100.4", 1);
  expectAccepted(check("198.51.100.4"));
}

TEST_F(ConnectionLimitsTest, TotalAtTheLimitIsAllowed) {
  admit("192.0.2.1", 1);
  admit("192.0.2.2", 2);
  admit("192.0.2.3", 2);
  expectAccepted(check("192.0.2.3"));
}

TEST_F(ConnectionLimitsTest, TotalOverTheLimitIsRefused) {
  admit("192.0.2.1", 2);
  admit("192.0.2.2", 2);
  admit("192.0.2.3", 2);
  const auto result = check("192.0.2.3");
  expectRefused(result, "CONN_LIMIT_TOTAL", "6 connections, limit 5");
  EXPECT_EQ(result.opinion->reply.text, "Too many connections, try again later");
}

TEST_F(ConnectionLimitsTest, TotalIsCheckedBeforePerIp) {
  admit("192.0.2.1", 6);
  expectRefused(check("192.0.2.1"), "CONN_LIMIT_TOTAL", "6 connections, limit 5");
}

TEST_F(ConnectionLimitsTest, ReleasedTicketsMakeRoom) {
  admit("192.0.2.1", 3);
  EXPECT_TRUE(check("192.0.2.1").opinion);
  tickets_.pop_back();
  expectAccepted(check("192.0.2.1"));

  admit("192.0.2.2", 2);
  admit("192.0.2.3", 2);  // total 6
  EXPECT_TRUE(check("192.0.2.3").opinion);
  tickets_.erase(tickets_.begin());
  expectAccepted(check("192.0.2.3"));
}

TEST_F(ConnectionLimitsTest, LimitsComeFromSettings) {
  store::ConnectionCounts counts;
  ConnectionLimits strict(counts, ConnectionLimitsSettings{1, 1});
  auto first = counts.admit("192.0.2.1");
  auto second = counts.admit("192.0.2.2");
  std::optional<CheckResult> result;
  pipeline::Context context;
  context.client_ip = "192.0.2.2";
  strict.start(Stage::Connect, context, [&](CheckResult r) { result = std::move(r); });
  ASSERT_TRUE(result);
  expectRefused(*result, "CONN_LIMIT_TOTAL", "2 connections, limit 1");
}

}  // namespace
}  // namespace spamgate::checks
