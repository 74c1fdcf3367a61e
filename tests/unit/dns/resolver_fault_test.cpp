// The resolver against misbehaving nameservers on 127.0.0.1, all scripted on the test's loop:
// a black hole (never answers), forgers (wrong id, wrong question, wrong source), SERVFAIL,
// REFUSED, truncation without TCP, a closed port. And the handle/lifetime contracts.
#include <event2/event.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>

#include "dns/ldns_cxx.h"
#include "dns/resolver.h"
#include "dns_packets.h"
#include "dns_servers.h"

namespace spamgate::dns {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using test::runFor;
using test::runUntil;
using test::UdpServer;

long msSince(Clock::time_point start) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - start).count());
}

// Answers every query for any name with `rcode` and, for NOERROR, one A record.
UdpServer::Handler answering(uint8_t rcode, const std::string& address = "127.0.0.2") {
  return [rcode, address](UdpServer& server, const std::vector<uint8_t>& query,
                          const sockaddr_storage& from, socklen_t length) {
    std::string name = test::queryName(query);
    std::vector<std::string> answer;
    if (rcode == LDNS_RCODE_NOERROR) answer.push_back(name + ". 60 IN A " + address);
    server.send(test::replyTo(query, rcode, answer), from, length);
  };
}

class DnsResolverFault : public ::testing::Test {
 protected:
  void TearDown() override {
    resolver_.reset();
    event_base_free(base_);
  }

  Resolver& resolver(std::vector<std::string> servers, milliseconds timeout = milliseconds(200),
                     unsigned attempts = 2) {
    Options options;
    options.nameservers = std::move(servers);
    options.timeout = timeout;
    options.attempts = attempts;
    resolver_ = Resolver::create(base_, options);
    return *resolver_;
  }

  Result resolve(const std::string& name, Type type = Type::A) {
    std::optional<Result> got;
    auto lookup = resolver_->lookup(name, type, [&](Result result) { got = std::move(result); });
    EXPECT_TRUE(runUntil(base_, [&] { return got.has_value(); }));
    return got.value_or(Result{});
  }

  event_base* base_ = event_base_new();
  std::unique_ptr<Resolver> resolver_;
};

TEST_F(DnsResolverFault, CreateRefusesBadOptions) {
  std::string error;
  Options options;
  options.nameservers = {"localhost:53"};
  EXPECT_FALSE(Resolver::create(base_, options, &error));
  EXPECT_NE(error.find("localhost:53"), std::string::npos);
  options.nameservers = {};
  EXPECT_FALSE(Resolver::create(base_, options, &error));
  options.nameservers = {"127.0.0.1:53"};
  options.attempts = 0;
  EXPECT_FALSE(Resolver::create(base_, options, &error));
  options.attempts = 1;
  EXPECT_TRUE(Resolver::create(base_, options, &error));
}

TEST_F(DnsResolverFault, BlackHoleEndsInTimeoutAtTheDeadline) {
  UdpServer hole(base_, nullptr);
  resolver({hole.address()}, milliseconds(200), 2);
  auto start = Clock::now();
  Result result = resolve("a.test");
  long elapsed = msSince(start);
  EXPECT_EQ(result.status, Status::Timeout);
  EXPECT_GE(elapsed, 395);
  EXPECT_LE(elapsed, 400 + 250);
  Stats stats = resolver_->stats();
  EXPECT_EQ(stats.udp_sent, 2u);
  EXPECT_EQ(stats.try_timeouts, 2u);
  EXPECT_EQ(stats.timeouts, 1u);
  EXPECT_EQ(stats.cache_entries, 0u);  // timeouts are never cached
}

// 1,000 lookups hang on a black hole while a 10 ms timer must keep firing on time.
TEST_F(DnsResolverFault, ThousandHangingLookupsDoNotBlockTheLoop) {
  UdpServer hole(base_, nullptr);
  resolver({hole.address()}, milliseconds(300), 2);
  struct Ticker {
    Clock::time_point last = Clock::now();
    long max_gap_ms = 0;
    int ticks = 0;
  } ticker;
  event* tick = event_new(
      base_, -1, EV_PERSIST,
      [](int, short, void* arg) {
        auto* t = static_cast<Ticker*>(arg);
        t->max_gap_ms = std::max(t->max_gap_ms, msSince(t->last));
        t->last = Clock::now();
        ++t->ticks;
      },
      &ticker);
  timeval every{0, 10000};
  event_add(tick, &every);

  auto start = Clock::now();
  int timeouts = 0;
  // How long after it was due each lookup ended: due is its deadline (600 ms after its start),
  // or the moment the loop ran again when issuing the 1,000 took longer than that.
  Clock::time_point loop_start;
  long worst_overshoot_ms = 0;
  std::vector<std::unique_ptr<Lookup>> lookups;
  for (int i = 0; i < 1000; ++i) {
    auto issued = Clock::now();
    lookups.push_back(
        resolver_->lookup("n" + std::to_string(i) + ".test", Type::A, [&, issued](Result result) {
          timeouts += result.status == Status::Timeout;
          auto due = std::max(issued + milliseconds(600), loop_start);
          worst_overshoot_ms = std::max(worst_overshoot_ms, msSince(due));
        }));
  }
  long issue_ms = msSince(start);
  loop_start = ticker.last = Clock::now();
  ASSERT_TRUE(runUntil(
      base_, [&] { return timeouts == 1000; }, milliseconds(5000)));
  long total_ms = msSince(start);
  event_free(tick);
  std::cout << "[ figures ] 1000 lookups issued in " << issue_ms << " ms; all Timeout after "
            << total_ms << " ms; worst lookup ended " << worst_overshoot_ms
            << " ms after it was due; 10 ms timer: " << ticker.ticks << " ticks, max gap "
            << ticker.max_gap_ms << " ms\n";
  // Two tries each, unless a slow machine spent a lookup's first try issuing the others: the
  // deadline then leaves no room for a second.
  EXPECT_GE(resolver_->stats().udp_sent, 1000u);
  EXPECT_LE(resolver_->stats().udp_sent, 2000u);
  // Generous bounds for loaded CI machines (typical: a few ms late, gaps of 12-15 ms); a
  // resolver that blocked would stall the loop for a whole try (300 ms) at a time.
  EXPECT_LE(worst_overshoot_ms, 250);
  EXPECT_LT(ticker.max_gap_ms, 250);
}

TEST_F(DnsResolverFault, ForgedAnswersAreDropped) {
  UdpServer elsewhere(base_, nullptr);  // a second socket: another source port
  UdpServer forger(base_, [&](UdpServer& server, const std::vector<uint8_t>& query,
                              const sockaddr_storage& from, socklen_t length) {
    std::string name = test::queryName(query);
    test::Message wrong_id;
    wrong_id.id = static_cast<uint16_t>(test::queryId(query) ^ 0x8000);
    wrong_id.qname = name;
    wrong_id.answer = {name + ". 60 IN A 6.6.6.1"};
    server.send(test::wire(wrong_id), from, length);
    test::Message wrong_name = wrong_id;
    wrong_name.id = test::queryId(query);
    wrong_name.qname = "other.test";
    wrong_name.answer = {"other.test. 60 IN A 6.6.6.2"};
    server.send(test::wire(wrong_name), from, length);
    test::Message not_reply = wrong_name;
    not_reply.qname = name;
    not_reply.qr = false;
    server.send(test::wire(not_reply), from, length);
    // The right id and question, but from another port: the connected socket never sees it.
    elsewhere.send(test::replyTo(query, LDNS_RCODE_NOERROR, {name + ". 60 IN A 6.6.6.3"}), from,
                   length);
    server.send(test::replyTo(query, LDNS_RCODE_NOERROR, {name + ". 60 IN A 127.0.0.2"}), from,
                length);
  });
  resolver({forger.address()});
  Result result = resolve("a.test");
  EXPECT_EQ(result.status, Status::Ok);
  EXPECT_EQ(result.records, std::vector<std::string>{"127.0.0.2"});
  EXPECT_EQ(resolver_->stats().dropped_answers, 3u);
}

TEST_F(DnsResolverFault, OnlyForgeriesMeanTimeout) {
  UdpServer forger(base_, [](UdpServer& server, const std::vector<uint8_t>& query,
                             const sockaddr_storage& from, socklen_t length) {
    test::Message wrong;
    wrong.id = test::queryId(query);
    wrong.qname = "a.test";
    wrong.qtype = static_cast<uint16_t>(Type::AAAA);
    server.send(test::wire(wrong), from, length);
  });
  resolver({forger.address()}, milliseconds(100), 2);
  EXPECT_EQ(resolve("a.test").status, Status::Timeout);
  EXPECT_EQ(resolver_->stats().dropped_answers, 2u);
}

TEST_F(DnsResolverFault, ServFailIsCachedBriefly) {
  UdpServer failing(base_, answering(LDNS_RCODE_SERVFAIL));
  resolver({failing.address()});
  Result first = resolve("a.test");
  EXPECT_EQ(first.status, Status::ServFail);
  EXPECT_EQ(first.ttl, 5u);
  Result second = resolve("a.test");
  EXPECT_EQ(second.status, Status::ServFail);
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(failing.received(), 1);  // one server: not asked twice
}

TEST_F(DnsResolverFault, ServFailAndRefusedMoveOnToTheNextServer) {
  UdpServer failing(base_, answering(LDNS_RCODE_SERVFAIL));
  UdpServer refusing(base_, answering(LDNS_RCODE_REFUSED));
  UdpServer good(base_, answering(LDNS_RCODE_NOERROR));
  resolver({failing.address(), good.address()});
  EXPECT_EQ(resolve("a.test").records, std::vector<std::string>{"127.0.0.2"});
  resolver({refusing.address(), failing.address()});
  EXPECT_EQ(resolve("b.test").status, Status::ServFail);  // the last server's answer
  EXPECT_EQ(refusing.received(), 1);
}

TEST_F(DnsResolverFault, DeadServerRotatesToTheNext) {
  UdpServer hole(base_, nullptr);
  UdpServer good(base_, answering(LDNS_RCODE_NOERROR));
  resolver({hole.address(), good.address()}, milliseconds(150), 2);
  auto start = Clock::now();
  EXPECT_EQ(resolve("a.test").status, Status::Ok);
  EXPECT_GE(msSince(start), 145);
  EXPECT_EQ(resolver_->stats().try_timeouts, 1u);
}

TEST_F(DnsResolverFault, Ipv6Nameserver) {
  UdpServer good(base_, answering(LDNS_RCODE_NOERROR), /*ipv6=*/true);
  if (!good.ok()) GTEST_SKIP() << "no ::1 on this machine";
  resolver({good.address()});
  Result result = resolve("a.test");
  EXPECT_EQ(result.status, Status::Ok);
  EXPECT_EQ(result.records, std::vector<std::string>{"127.0.0.2"});
  EXPECT_EQ(good.received(), 1);
}

TEST_F(DnsResolverFault, ClosedPortFailsFast) {
  resolver({"127.0.0.1:" + std::to_string(test::freePort())}, milliseconds(1000), 2);
  auto start = Clock::now();
  EXPECT_EQ(resolve("a.test").status, Status::Timeout);
  EXPECT_LT(msSince(start), 500);  // ICMP port unreachable ends each try at once
}

TEST_F(DnsResolverFault, TruncatedWithoutTcpEndsInTimeout) {
  UdpServer truncating(base_, [](UdpServer& server, const std::vector<uint8_t>& query,
                                 const sockaddr_storage& from, socklen_t length) {
    std::vector<uint8_t> reply = test::replyTo(query, LDNS_RCODE_NOERROR, {});
    reply[2] |= 0x02;  // TC
    server.send(reply, from, length);
  });
  resolver({truncating.address()}, milliseconds(300), 2);
  EXPECT_EQ(resolve("a.test", Type::TXT).status, Status::Timeout);
  Stats stats = resolver_->stats();
  EXPECT_EQ(stats.truncated, 2u);
  EXPECT_EQ(stats.tcp_sent, 2u);
}

TEST_F(DnsResolverFault, InFlightLimitGivesLocalError) {
  UdpServer hole(base_, nullptr);
  Options options;
  options.nameservers = {hole.address()};
  options.timeout = milliseconds(100);
  options.max_in_flight = 2;
  resolver_ = Resolver::create(base_, options);
  std::vector<Status> statuses;
  std::vector<std::unique_ptr<Lookup>> lookups;
  for (const char* name : {"a.test", "b.test", "c.test"}) {
    lookups.push_back(
        resolver_->lookup(name, Type::A, [&](Result r) { statuses.push_back(r.status); }));
  }
  EXPECT_TRUE(statuses.empty());  // even a LocalError comes from the loop
  ASSERT_TRUE(runUntil(base_, [&] { return statuses.size() == 3; }));
  EXPECT_EQ(statuses, (std::vector<Status>{Status::LocalError, Status::Timeout, Status::Timeout}));
}

TEST_F(DnsResolverFault, CallbackMayDestroyItsHandleAndTheResolver) {
  UdpServer good(base_, answering(LDNS_RCODE_NOERROR));
  resolver({good.address()});
  std::unique_ptr<Lookup> first;
  std::unique_ptr<Lookup> second;
  int ran = 0;
  first = resolver_->lookup("a.test", Type::A, [&](Result) {
    ++ran;
    first.reset();
    resolver_.reset();  // the merged second lookup becomes inert
  });
  second = resolver_->lookup("a.test", Type::A, [&](Result) { ++ran; });
  runFor(base_, milliseconds(200));
  EXPECT_EQ(ran, 1);
  second.reset();  // outlives the resolver: harmless
}

TEST_F(DnsResolverFault, DestroyingTheResolverSilencesPendingLookups) {
  UdpServer hole(base_, nullptr);
  resolver({hole.address()}, milliseconds(100), 1);
  bool ran = false;
  auto pending = resolver_->lookup("a.test", Type::A, [&](Result) { ran = true; });
  auto bad = resolver_->lookup("a..test", Type::A, [&](Result) { ran = true; });
  resolver_.reset();
  runFor(base_, milliseconds(250));
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace spamgate::dns
