// FcrdnsCheck against a real nameserver: Debian's nsd on a free 127.0.0.1 port, serving a
// 127.in-addr.arpa zone, an ip6.arpa zone for ::1 and a forward zone written here. Clients are
// loopback addresses that the zones make good, lying, unnamed or many-named. DNS trouble comes
// from nsd itself (REFUSED for a zone it does not serve), from a black-hole server and from a
// scripted server that answers PTR queries and swallows the forward ones.
#include "checks/fcrdns.h"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "dns/resolver.h"
#include "dns_packets.h"
#include "dns_servers.h"

namespace spamgate::checks {
namespace {

using dns::test::runFor;
using dns::test::runUntil;
using dns::test::UdpServer;
using pipeline::CheckResult;
using std::chrono::milliseconds;

constexpr const char* kSoa = "@ IN SOA ns.fwd.test. hostmaster.fwd.test. 1 3600 600 86400 30\n";

std::string reverse4Zone() {
  std::string zone = std::string("$ORIGIN 127.in-addr.arpa.\n$TTL 300\n") + kSoa +
                     "@ IN NS ns.fwd.test.\n"
                     "2.0.0 IN PTR good.fwd.test.\n"
                     "3.0.0 IN PTR liar.fwd.test.\n"
                     "5.0.0 IN PTR other.fwd.test.\n"
                     "5.0.0 IN PTR five.fwd.test.\n"
                     "6.0.0 IN PTR host.elsewhere.test.\n"  // nsd refuses elsewhere.test
                     "7.0.0 IN PTR host.elsewhere.test.\n"
                     "7.0.0 IN PTR liar.fwd.test.\n"
                     "8.0.0 IN TXT \"a name without a PTR\"\n"  // NODATA
                     "10.0.0 IN PTR host.elsewhere.test.\n"
                     "10.0.0 IN PTR ten.fwd.test.\n";
  for (int i = 1; i <= 12; ++i) {  // 127.0.0.9: 12 names, none confirms
    zone += "9.0.0 IN PTR many" + std::to_string(i) + ".fwd.test.\n";
  }
  return zone;
}

std::string reverse6Zone() {
  return std::string("$ORIGIN ip6.arpa.\n$TTL 300\n") + kSoa + "@ IN NS ns.fwd.test.\n" +
         dns::Resolver::reverseName("::1") + ". IN PTR v6.fwd.test.\n";
}

std::string forwardZone() {
  std::string zone = std::string("$ORIGIN fwd.test.\n$TTL 300\n") + kSoa +
                     "@ IN NS ns\n"
                     "ns IN A 127.0.0.1\n"
                     "good IN A 127.0.0.2\n"
                     "liar IN A 127.0.0.99\n"
                     "liar IN A 127.0.0.98\n"
                     "other IN A 127.0.0.50\n"
                     "five IN A 127.0.0.55\n"
                     "five IN A 127.0.0.5\n"
                     "ten IN A 127.0.0.10\n"
                     "v6 IN AAAA 0:0:0:0::1\n";  // written another way than the client's "::1"
  for (int i = 1; i <= 12; ++i)
    zone += "many" + std::to_string(i) + " IN A 127.0.0.99\n";
  return zone;
}

class FcrdnsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    nsd_ = new dns::test::Nsd({{"fwd.test", forwardZone(), ""},
                               {"127.in-addr.arpa", reverse4Zone(), ""},
                               {"ip6.arpa", reverse6Zone(), ""}});
  }
  static void TearDownTestSuite() {
    delete nsd_;
    nsd_ = nullptr;
  }

  void SetUp() override {
    if (!nsd_->ok() && nsd_->error().find("not installed") != std::string::npos) {
      GTEST_SKIP() << nsd_->error();
    }
    ASSERT_TRUE(nsd_->ok()) << nsd_->error();
  }

  void TearDown() override {
    pending_.reset();
    resolver_.reset();
    event_base_free(base_);
  }

  void useServer(const std::string& address, milliseconds timeout = milliseconds(1000)) {
    dns::Options options;
    options.nameservers = {address};
    options.timeout = timeout;
    options.attempts = 2;
    resolver_ = dns::Resolver::create(base_, options);
    ASSERT_NE(resolver_, nullptr);
  }

  // Starts the check for `ip`; the result lands in result_.
  void start(const std::string& ip) {
    if (!resolver_) useServer(nsd_->address());
    pipeline::Context context;
    context.client_ip = ip;
    context.facts = &facts_;
    context.resolver = resolver_.get();
    pending_ = check().start(pipeline::Stage::Connect, context, [this](CheckResult result) {
      ++calls_;
      result_ = std::move(result);
    });
    EXPECT_EQ(calls_, 0) << "a DNS check never answers inline";
    EXPECT_NE(pending_, nullptr);
  }

  CheckResult run(const std::string& ip) {
    start(ip);
    EXPECT_TRUE(runUntil(base_, [&] { return calls_ > 0; }));
    EXPECT_EQ(calls_, 1);
    return result_.value_or(CheckResult{});
  }

  FcrdnsCheck check() const { return FcrdnsCheck(settings_); }

  static config::Fcrdns scoredSettings() {
    config::Fcrdns settings;
    settings.reject = false;
    settings.no_ptr_score = 3;
    settings.mismatch_score = 2;
    settings.tempfail_score = 0.5;
    return settings;
  }

  static void expectSymbol(const CheckResult& result, const std::string& name, double score,
                           const std::string& detail) {
    ASSERT_EQ(result.symbols.size(), 1u);
    EXPECT_EQ(result.symbols[0].name, name);
    EXPECT_EQ(result.symbols[0].score, score);
    EXPECT_EQ(result.symbols[0].detail, detail);
  }

  static void expectOpinion(const CheckResult& result, policy::Action action, int code,
                            const std::string& enhanced, const std::string& reason) {
    ASSERT_TRUE(result.opinion);
    EXPECT_EQ(result.opinion->action, action);
    EXPECT_EQ(result.opinion->reply.code, code);
    EXPECT_EQ(result.opinion->reply.enhanced, enhanced);
    EXPECT_EQ(result.opinion->reason, reason);
    EXPECT_FALSE(result.opinion->at_rcpt);
  }

  static dns::test::Nsd* nsd_;
  event_base* base_ = event_base_new();
  std::unique_ptr<dns::Resolver> resolver_;
  config::Fcrdns settings_ = scoredSettings();
  pipeline::SessionFacts facts_;
  std::unique_ptr<pipeline::PendingCheck> pending_;
  std::optional<CheckResult> result_;
  int calls_ = 0;
};

dns::test::Nsd* FcrdnsTest::nsd_ = nullptr;

TEST_F(FcrdnsTest, ConfirmedNameIsAFactNotASymbol) {
  CheckResult result = run("127.0.0.2");
  EXPECT_TRUE(result.symbols.empty());
  EXPECT_FALSE(result.opinion);
  EXPECT_EQ(facts_.verified_name, "good.fwd.test");
}

TEST_F(FcrdnsTest, Ipv4MappedClientIsLookedUpAsIpv4) {
  CheckResult result = run("::ffff:127.0.0.2");
  EXPECT_TRUE(result.symbols.empty());
  EXPECT_EQ(facts_.verified_name, "good.fwd.test");
}

TEST_F(FcrdnsTest, Ipv6ClientConfirmsThroughAaaa) {
  CheckResult result = run("::1");
  EXPECT_TRUE(result.symbols.empty());
  EXPECT_EQ(facts_.verified_name, "v6.fwd.test");
}

TEST_F(FcrdnsTest, SecondPtrNameConfirms) {
  CheckResult result = run("127.0.0.5");
  EXPECT_TRUE(result.symbols.empty());
  EXPECT_EQ(facts_.verified_name, "five.fwd.test");
}

TEST_F(FcrdnsTest, ForwardAddressesThatAreNotTheClientAreAMismatch) {
  CheckResult result = run("127.0.0.3");
  ASSERT_EQ(result.symbols.size(), 1u);
  EXPECT_EQ(result.symbols[0].name, "RDNS_MISMATCH");
  EXPECT_EQ(result.symbols[0].score, 2);
  // nsd may give the RRset in either order.
  const std::string& detail = result.symbols[0].detail;
  EXPECT_TRUE(detail == "ptr=liar.fwd.test forward=127.0.0.99,127.0.0.98" ||
              detail == "ptr=liar.fwd.test forward=127.0.0.98,127.0.0.99")
      << detail;
  EXPECT_FALSE(result.opinion);
  EXPECT_EQ(facts_.verified_name, "");
}

TEST_F(FcrdnsTest, NoPtrRecord) {
  expectSymbol(run("127.0.0.4"), "RDNS_NONE", 3, "no PTR for 4.0.0.127.in-addr.arpa (nxdomain)");
}

TEST_F(FcrdnsTest, NameWithoutPtrIsNoData) {
  expectSymbol(run("127.0.0.8"), "RDNS_NONE", 3, "no PTR for 8.0.0.127.in-addr.arpa (nodata)");
}

TEST_F(FcrdnsTest, AtMostTenPtrNamesAreAsked) {
  CheckResult result = run("127.0.0.9");
  ASSERT_EQ(result.symbols.size(), 1u);
  EXPECT_EQ(result.symbols[0].name, "RDNS_MISMATCH");
  const std::string& detail = result.symbols[0].detail;
  std::size_t names = 0;
  for (std::size_t at = detail.find("ptr="); at != std::string::npos;
       at = detail.find("ptr=", at + 1)) {
    ++names;
  }
  EXPECT_EQ(names, FcrdnsCheck::kMaxPtrNames) << detail;
}

TEST_F(FcrdnsTest, RefusedForwardLookupIsATempfail) {
  expectSymbol(run("127.0.0.6"), "RDNS_TEMPFAIL", 0.5, "forward host.elsewhere.test: refused");
}

// A lying name says nothing when another name could not be checked.
TEST_F(FcrdnsTest, TempfailOutweighsMismatch) {
  expectSymbol(run("127.0.0.7"), "RDNS_TEMPFAIL", 0.5, "forward host.elsewhere.test: refused");
}

TEST_F(FcrdnsTest, ConfirmationOutweighsTempfail) {
  CheckResult result = run("127.0.0.10");
  EXPECT_TRUE(result.symbols.empty());
  EXPECT_EQ(facts_.verified_name, "ten.fwd.test");
}

TEST_F(FcrdnsTest, RejectGivesRfc7372Replies) {
  settings_.reject = true;
  CheckResult none = run("127.0.0.4");
  expectOpinion(none, policy::Action::Reject, 550, "5.7.25", "fcrdns: RDNS_NONE");
  EXPECT_EQ(none.opinion->reply.text, "Reverse DNS validation failed");
  calls_ = 0;
  expectOpinion(run("127.0.0.3"), policy::Action::Reject, 550, "5.7.25", "fcrdns: RDNS_MISMATCH");
  calls_ = 0;
  CheckResult temp = run("127.0.0.6");
  expectOpinion(temp, policy::Action::Tempfail, 450, "4.7.25", "fcrdns: RDNS_TEMPFAIL");
  EXPECT_EQ(temp.opinion->reply.text, "Reverse DNS temporarily unavailable");
  calls_ = 0;
  EXPECT_FALSE(run("127.0.0.2").opinion);
}

TEST_F(FcrdnsTest, BlackHoleEndsInTempfailAtTheDeadline) {
  UdpServer hole(base_, nullptr);
  useServer(hole.address(), milliseconds(100));
  settings_.reject = true;
  const auto begin = std::chrono::steady_clock::now();
  CheckResult result = run("127.0.0.2");
  const auto elapsed = std::chrono::steady_clock::now() - begin;
  expectSymbol(result, "RDNS_TEMPFAIL", 0.5, "ptr 2.0.0.127.in-addr.arpa: timeout");
  expectOpinion(result, policy::Action::Tempfail, 450, "4.7.25", "fcrdns: RDNS_TEMPFAIL");
  EXPECT_GE(elapsed, milliseconds(190));
  EXPECT_LT(elapsed, milliseconds(2000));
  EXPECT_EQ(facts_.verified_name, "");
}

TEST_F(FcrdnsTest, CancelWhileThePtrLookupHangs) {
  UdpServer hole(base_, nullptr);
  useServer(hole.address(), milliseconds(100));
  start("127.0.0.2");
  ASSERT_TRUE(runUntil(base_, [&] { return resolver_->stats().udp_sent > 0; }));
  EXPECT_EQ(resolver_->stats().in_flight, 1u);
  pending_.reset();
  EXPECT_EQ(resolver_->stats().in_flight, 0u);
  runFor(base_, milliseconds(300));  // past the deadline
  EXPECT_EQ(calls_, 0);
}

// A server that answers PTR queries (with one name) and never answers anything else.
UdpServer::Handler ptrOnly(int& forward_queries) {
  return [&forward_queries](UdpServer& server, const std::vector<uint8_t>& query,
                            const sockaddr_storage& from, socklen_t length) {
    const std::string name = dns::test::queryName(query);
    if (name.ends_with(".in-addr.arpa")) {
      server.send(dns::test::replyTo(query, 0, {name + ". 60 IN PTR slow.example."}), from, length);
    } else {
      ++forward_queries;
    }
  };
}

TEST_F(FcrdnsTest, CancelWhileTheForwardLookupHangs) {
  int forward_queries = 0;
  UdpServer server(base_, ptrOnly(forward_queries));
  useServer(server.address(), milliseconds(100));
  start("127.0.0.2");
  ASSERT_TRUE(runUntil(base_, [&] { return forward_queries > 0; }));
  EXPECT_EQ(resolver_->stats().in_flight, 1u);
  pending_.reset();
  EXPECT_EQ(resolver_->stats().in_flight, 0u);
  runFor(base_, milliseconds(300));
  EXPECT_EQ(calls_, 0);
}

TEST_F(FcrdnsTest, ForwardTimeoutIsATempfail) {
  int forward_queries = 0;
  UdpServer server(base_, ptrOnly(forward_queries));
  useServer(server.address(), milliseconds(100));
  expectSymbol(run("127.0.0.2"), "RDNS_TEMPFAIL", 0.5, "forward slow.example: timeout");
}

TEST_F(FcrdnsTest, ResolverMayGoFirst) {
  UdpServer hole(base_, nullptr);
  useServer(hole.address(), milliseconds(100));
  start("127.0.0.2");
  resolver_.reset();  // the lookups become inert; the pending check is destroyed later
  runFor(base_, milliseconds(300));
  EXPECT_EQ(calls_, 0);
}

TEST_F(FcrdnsTest, WithoutResolverItIsATempfailInline) {
  pipeline::Context context;
  context.client_ip = "127.0.0.2";
  context.facts = &facts_;
  auto pending = check().start(pipeline::Stage::Connect, context, [this](CheckResult result) {
    ++calls_;
    result_ = std::move(result);
  });
  EXPECT_EQ(pending, nullptr);
  ASSERT_EQ(calls_, 1);
  expectSymbol(*result_, "RDNS_TEMPFAIL", 0.5, "no resolver");
}

TEST_F(FcrdnsTest, NonNumericClientHasNoResult) {
  pipeline::Context context;
  context.client_ip = "unix:/run/spamgate.sock";
  auto pending = check().start(pipeline::Stage::Connect, context, [this](CheckResult result) {
    ++calls_;
    result_ = std::move(result);
  });
  EXPECT_EQ(pending, nullptr);
  ASSERT_EQ(calls_, 1);
  EXPECT_TRUE(result_->symbols.empty());
  EXPECT_FALSE(result_->opinion);
}

TEST_F(FcrdnsTest, RunsAtConnectOnly) {
  EXPECT_TRUE(check().runsAt(pipeline::Stage::Connect));
  EXPECT_FALSE(check().runsAt(pipeline::Stage::Helo));
  EXPECT_EQ(check().name(), "fcrdns");
}

}  // namespace
}  // namespace spamgate::checks
