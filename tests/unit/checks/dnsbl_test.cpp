// The Dnsbl check against a real nameserver: Debian's nsd on a free 127.0.0.1 port serving the
// shared RFC 5782 test zone (dnsbl.test: 127.0.0.2 listed, 127.0.0.1 not, multi-code answers,
// error codes, an answer outside 127/8, the IPv4-mapped IPv6 entry) and two zones written here
// (two.test: a second DNSBL with a native IPv6 entry; wl.test: a DNSWL). DNS trouble comes from
// nsd (REFUSED for a zone it does not serve), a scripted SERVFAIL server and a black hole.
#include "checks/dnsbl.h"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns/names.h"
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
using Clock = std::chrono::steady_clock;

const std::string kDnsblZone = std::string(SPAMGATE_TESTDATA) + "/dnsbl/dnsbl.test.zone";
constexpr uint8_t kServFail = 2;

std::string zoneHead(const std::string& origin) {
  return "$ORIGIN " + origin + ".\n$TTL 60\n@ IN SOA ns." + origin + ". hostmaster." + origin +
         ". 1 3600 600 86400 60\n@ IN NS ns." + origin + ".\nns IN A 127.0.0.1\n";
}

std::string twoZone() {
  return zoneHead("two.test") + "2.0.0.127 IN A 127.0.0.2\n" + dns::reversedAddress("2001:db8::2") +
         " IN A 127.0.0.2\n";
}

std::string allowZone() {
  return zoneHead("wl.test") + "2.0.0.127 IN A 127.0.10.2\n";
}

config::DnsblZone zone(const std::string& name, double weight,
                       std::vector<std::string> codes = {}) {
  return config::DnsblZone{name, weight, std::move(codes)};
}

config::Dnsbl settings(std::vector<config::DnsblZone> zones, double reject_weight = 10) {
  config::Dnsbl out;
  out.zones = std::move(zones);
  out.reject_weight = reject_weight;
  return out;
}

struct Sym {
  std::string name;
  double score;
  std::string detail;
  bool operator==(const Sym&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Sym& s) {
  return out << "{" << s.name << ", " << s.score << ", " << s.detail << "}";
}

std::vector<Sym> symbols(const CheckResult& result) {
  std::vector<Sym> out;
  for (const auto& s : result.symbols) {
    out.push_back({s.name, s.score, s.detail});
  }
  return out;
}

class DnsblTest : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { nsd_.reset(); }

  void SetUp() override {
    if (!std::filesystem::exists(kDnsblZone)) GTEST_SKIP() << "no test zone " << kDnsblZone;
    if (!nsd_) {
      nsd_ = std::make_unique<dns::test::Nsd>(
          std::vector<dns::test::Zone>{{"dnsbl.test", "", kDnsblZone},
                                       {"two.test", twoZone(), ""},
                                       {"wl.test", allowZone(), ""}});
    }
    if (!nsd_->ok() && nsd_->error().find("not installed") != std::string::npos) {
      GTEST_SKIP() << nsd_->error();
    }
    ASSERT_TRUE(nsd_->ok()) << nsd_->error();
    resolver_ = makeResolver(nsd_->address(), milliseconds(1000), 2);
  }

  void TearDown() override {
    resolver_.reset();
    event_base_free(base_);
  }

  std::unique_ptr<dns::Resolver> makeResolver(const std::string& server, milliseconds timeout,
                                              unsigned attempts) {
    dns::Options options;
    options.nameservers = {server};
    options.timeout = timeout;
    options.attempts = attempts;
    return dns::Resolver::create(base_, options);
  }

  pipeline::Context context(const std::string& ip) {
    pipeline::Context out;
    out.client_ip = ip;
    out.facts = &facts_;
    out.resolver = resolver_.get();
    out.loop = base_;
    return out;
  }

  // Runs `check` for `ip` to completion; exactly one answer.
  CheckResult run(Dnsbl& check, const std::string& ip) {
    int calls = 0;
    CheckResult result;
    auto pending = check.start(pipeline::Stage::Connect, context(ip), [&](CheckResult r) {
      ++calls;
      result = std::move(r);
    });
    if (pending) {
      EXPECT_EQ(calls, 0) << "asynchronous: never inline";
      EXPECT_TRUE(runUntil(base_, [&] { return calls > 0; }));
    }
    EXPECT_EQ(calls, 1);
    return result;
  }

  CheckResult run(const config::Dnsbl& config, const std::string& ip) {
    Dnsbl check(config);
    return run(check, ip);
  }

  static void expectRejected(const CheckResult& result, const std::string& ip,
                             const std::string& zone, const std::string& reason) {
    ASSERT_TRUE(result.opinion);
    EXPECT_EQ(result.opinion->action, policy::Action::Reject);
    EXPECT_EQ(result.opinion->reply.code, 554);
    EXPECT_EQ(result.opinion->reply.enhanced, "5.7.1");
    EXPECT_EQ(result.opinion->reply.text,
              "Service unavailable; client [" + ip + "] blocked using " + zone);
    EXPECT_EQ(result.opinion->reason, reason);
  }

  static inline std::unique_ptr<dns::test::Nsd> nsd_;
  event_base* base_ = event_base_new();
  std::unique_ptr<dns::Resolver> resolver_;
  pipeline::SessionFacts facts_;
};

TEST_F(DnsblTest, ListedAddressIsRejectedAtRcpt) {
  Dnsbl check(settings({zone("dnsbl.test", 10)}));
  EXPECT_EQ(check.name(), "dnsbl");
  EXPECT_TRUE(check.runsAt(pipeline::Stage::Connect));
  EXPECT_FALSE(check.runsAt(pipeline::Stage::Helo));
  auto result = run(check, "127.0.0.2");
  EXPECT_EQ(symbols(result),
            (std::vector<Sym>{{"DNSBL_LISTED", 10, "zone=dnsbl.test code=127.0.0.2"}}));
  expectRejected(result, "127.0.0.2", "dnsbl.test",
                 "dnsbl: DNSBL_LISTED dnsbl.test, weight 10 >= 10");
  EXPECT_TRUE(result.opinion->at_rcpt);
}

TEST_F(DnsblTest, UnlistedAddressGetsNothing) {
  auto result = run(settings({zone("dnsbl.test", 10)}), "127.0.0.1");
  EXPECT_TRUE(result.symbols.empty());
  EXPECT_FALSE(result.opinion);
}

TEST_F(DnsblTest, ZoneNamesAreNormalised) {
  auto result = run(settings({zone("DNSBL.Test.", 10)}), "127.0.0.2");
  EXPECT_EQ(symbols(result),
            (std::vector<Sym>{{"DNSBL_LISTED", 10, "zone=dnsbl.test code=127.0.0.2"}}));
}

TEST_F(DnsblTest, ListingWithoutTxt) {
  auto result = run(settings({zone("dnsbl.test", 3)}), "192.0.2.11");
  EXPECT_EQ(symbols(result),
            (std::vector<Sym>{{"DNSBL_LISTED", 3, "zone=dnsbl.test code=127.0.0.3"}}));
  EXPECT_FALSE(result.opinion) << "3 < 10";
}

TEST_F(DnsblTest, MultiCodeAnswersThroughFilters) {
  const std::string ip = "192.0.2.10";  // 127.0.0.2, 127.0.0.4, 127.0.0.10
  auto listed = [&](std::vector<std::string> codes) {
    auto result = run(settings({zone("dnsbl.test", 1, std::move(codes))}), ip);
    return result.symbols.empty() ? "-" : result.symbols.at(0).detail;
  };
  EXPECT_EQ(listed({}), "zone=dnsbl.test code=127.0.0.2,127.0.0.4,127.0.0.10");
  EXPECT_EQ(listed({"127.0.0.4"}), "zone=dnsbl.test code=127.0.0.4");
  EXPECT_EQ(listed({"127.0.0.[3;10]"}), "zone=dnsbl.test code=127.0.0.10");
  EXPECT_EQ(listed({"127.0.0.[2..3]", "127.0.0.10"}), "zone=dnsbl.test code=127.0.0.2,127.0.0.10");
  EXPECT_EQ(listed({"127.0.0.[5..9]"}), "-");
  EXPECT_EQ(listed({"127.0.0.[11..255]"}), "-");
}

TEST_F(DnsblTest, ErrorCodesNeverCount) {
  for (const char* code : {"252", "254", "255"}) {
    const std::string ip = std::string("192.0.2.") + code;
    for (const auto& codes : {std::vector<std::string>{}, {"127.255.255.[0..255]"}}) {
      auto result = run(settings({zone("dnsbl.test", 10, codes)}, 1), ip);
      EXPECT_EQ(symbols(result),
                (std::vector<Sym>{{"DNSBL_ZONE_ERROR", 0,
                                   "zone=dnsbl.test code=127.255.255." + std::string(code)}}))
          << ip;
      EXPECT_FALSE(result.opinion) << ip;
    }
  }
}

TEST_F(DnsblTest, AnswersOutsideLoopbackNeverCount) {
  auto result = run(settings({zone("dnsbl.test", 10, {"192.0.2.99"})}, 1), "192.0.2.99");
  EXPECT_EQ(symbols(result),
            (std::vector<Sym>{{"DNSBL_ZONE_ERROR", 0, "zone=dnsbl.test code=192.0.2.99"}}));
  EXPECT_FALSE(result.opinion);
}

TEST_F(DnsblTest, Ipv6Clients) {
  // IPv4-mapped clients are queried as IPv4 (RFC 5782's ::FFFF:7F00:2 entry is then the
  // 127.0.0.2 one); native IPv6 as 32 nibbles.
  auto config = settings({zone("dnsbl.test", 10), zone("two.test", 5)}, 100);
  EXPECT_EQ(symbols(run(config, "::FFFF:7F00:2")),
            (std::vector<Sym>{{"DNSBL_LISTED", 10, "zone=dnsbl.test code=127.0.0.2"},
                              {"DNSBL_LISTED", 5, "zone=two.test code=127.0.0.2"}}));
  EXPECT_EQ(symbols(run(config, "::ffff:127.0.0.2")).size(), 2u);
  EXPECT_TRUE(run(config, "::ffff:7f00:1").symbols.empty());
  EXPECT_EQ(symbols(run(config, "2001:db8::2")),
            (std::vector<Sym>{{"DNSBL_LISTED", 5, "zone=two.test code=127.0.0.2"}}));
  EXPECT_TRUE(run(config, "2001:db8::1").symbols.empty());
  auto rejected = run(settings({zone("two.test", 10)}), "2001:db8::2");
  expectRejected(rejected, "2001:db8::2", "two.test",
                 "dnsbl: DNSBL_LISTED two.test, weight 10 >= 10");
}

TEST_F(DnsblTest, TwoZonesSumToTheThresholdNamingTheHeavierZone) {
  auto result = run(settings({zone("dnsbl.test", 4), zone("two.test", 6)}), "127.0.0.2");
  EXPECT_EQ(symbols(result),
            (std::vector<Sym>{{"DNSBL_LISTED", 4, "zone=dnsbl.test code=127.0.0.2"},
                              {"DNSBL_LISTED", 6, "zone=two.test code=127.0.0.2"}}));
  expectRejected(result, "127.0.0.2", "two.test", "dnsbl: DNSBL_LISTED two.test, weight 10 >= 10");
  result = run(settings({zone("dnsbl.test", 6.5), zone("two.test", 3.5)}), "127.0.0.2");
  expectRejected(result, "127.0.0.2", "dnsbl.test",
                 "dnsbl: DNSBL_LISTED dnsbl.test, weight 10 >= 10");
  // One zone alone stays under the threshold.
  result = run(settings({zone("dnsbl.test", 6), zone("two.test", 4)}), "192.0.2.11");
  EXPECT_EQ(result.symbols.size(), 1u);
  EXPECT_FALSE(result.opinion);
}

TEST_F(DnsblTest, DnswlWeighsAgainst) {
  auto result = run(settings({zone("dnsbl.test", 10), zone("wl.test", -5)}), "127.0.0.2");
  EXPECT_EQ(symbols(result),
            (std::vector<Sym>{{"DNSBL_LISTED", 10, "zone=dnsbl.test code=127.0.0.2"},
                              {"DNSWL_LISTED", -5, "zone=wl.test code=127.0.10.2"}}));
  EXPECT_FALSE(result.opinion) << "10 - 5 < 10";
  // A DNSWL listing alone never rejects, even with a threshold at or under zero.
  result = run(settings({zone("wl.test", -5)}, -10), "127.0.0.2");
  EXPECT_EQ(symbols(result),
            (std::vector<Sym>{{"DNSWL_LISTED", -5, "zone=wl.test code=127.0.10.2"}}));
  EXPECT_FALSE(result.opinion);
  result = run(settings({zone("dnsbl.test", 1)}, 0), "127.0.0.1");
  EXPECT_FALSE(result.opinion) << "no listing, no reject";
}

TEST_F(DnsblTest, ScoreOnlyAndRejectAtConnect) {
  auto config = settings({zone("dnsbl.test", 10)});
  config.score_only = true;
  auto result = run(config, "127.0.0.2");
  EXPECT_EQ(result.symbols.size(), 1u);
  EXPECT_FALSE(result.opinion);
  config.score_only = false;
  config.reject_at = config::RejectAt::Connect;
  result = run(config, "127.0.0.2");
  ASSERT_TRUE(result.opinion);
  EXPECT_FALSE(result.opinion->at_rcpt);
}

TEST_F(DnsblTest, AllowListedClientsAreSkippedInline) {
  Dnsbl check(settings({zone("dnsbl.test", 10)}));
  facts_.allowlisted = true;
  int calls = 0;
  auto pending = check.start(pipeline::Stage::Connect, context("127.0.0.2"), [&](CheckResult r) {
    ++calls;
    EXPECT_TRUE(r.symbols.empty());
    EXPECT_FALSE(r.opinion);
  });
  EXPECT_EQ(pending, nullptr);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(resolver_->stats().lookups, 0u);
}

TEST_F(DnsblTest, NoZonesOrNoAddressAnswerInline) {
  Dnsbl none(settings({}));
  int calls = 0;
  EXPECT_EQ(
      none.start(pipeline::Stage::Connect, context("127.0.0.2"), [&](CheckResult) { ++calls; }),
      nullptr);
  Dnsbl some(settings({zone("dnsbl.test", 10)}));
  EXPECT_EQ(some.start(pipeline::Stage::Connect, context("unix:/run/x"),
                       [&](CheckResult r) {
                         ++calls;
                         EXPECT_TRUE(r.symbols.empty());
                       }),
            nullptr);
  EXPECT_EQ(calls, 2);
}

// A zone that did not answer defers the client (tempfail_on_error, the default): 451, never 5xx.
void expectDeferred(const CheckResult& result, const std::string& zone) {
  ASSERT_TRUE(result.opinion);
  EXPECT_EQ(result.opinion->action, policy::Action::Tempfail);
  EXPECT_EQ(result.opinion->reply.code, 451);
  EXPECT_EQ(result.opinion->reply.enhanced, "4.4.3");
  EXPECT_EQ(result.opinion->reason, "dnsbl: DNSBL_TEMPFAIL " + zone);
  EXPECT_TRUE(result.opinion->at_rcpt);
}

TEST_F(DnsblTest, NoResolverTempfailsEveryZone) {
  Dnsbl check(settings({zone("dnsbl.test", 10), zone("two.test", 10)}));
  auto ctx = context("127.0.0.2");
  ctx.resolver = nullptr;
  CheckResult result;
  EXPECT_EQ(
      check.start(pipeline::Stage::Connect, ctx, [&](CheckResult r) { result = std::move(r); }),
      nullptr);
  EXPECT_EQ(symbols(result),
            (std::vector<Sym>{{"DNSBL_TEMPFAIL", 0, "zone=dnsbl.test status=local_error"},
                              {"DNSBL_TEMPFAIL", 0, "zone=two.test status=local_error"}}));
  expectDeferred(result, "two.test");
}

TEST_F(DnsblTest, RefusedZoneTempfailsBesideAListing) {
  auto config = settings({zone("unserved.test", 10), zone("dnsbl.test", 10)});
  config.tempfail_score = 1.5;
  auto result = run(config, "127.0.0.2");
  EXPECT_EQ(symbols(result),
            (std::vector<Sym>{{"DNSBL_TEMPFAIL", 1.5, "zone=unserved.test status=refused"},
                              {"DNSBL_LISTED", 10, "zone=dnsbl.test code=127.0.0.2"}}));
  expectRejected(result, "127.0.0.2", "dnsbl.test",
                 "dnsbl: DNSBL_LISTED dnsbl.test, weight 10 >= 10");
}

TEST_F(DnsblTest, ServFailTempfails) {
  UdpServer failing(base_, [](UdpServer& server, const std::vector<uint8_t>& query,
                              const sockaddr_storage& from, socklen_t length) {
    server.send(dns::test::replyTo(query, kServFail, {}), from, length);
  });
  resolver_ = makeResolver(failing.address(), milliseconds(1000), 1);
  auto config = settings({zone("dnsbl.test", 10)}, 0);
  auto result = run(config, "127.0.0.2");
  EXPECT_EQ(symbols(result),
            (std::vector<Sym>{{"DNSBL_TEMPFAIL", 0, "zone=dnsbl.test status=servfail"}}));
  expectDeferred(result, "dnsbl.test");  // never a permanent reject
  config.tempfail_on_error = false;
  result = run(config, "127.0.0.2");
  EXPECT_EQ(symbols(result).size(), 1u);
  EXPECT_FALSE(result.opinion) << "the symbol alone";
  config.tempfail_on_error = true;
  config.score_only = true;
  EXPECT_FALSE(run(config, "127.0.0.2").opinion);
}

// Reads the queries and never answers.
UdpServer::Handler silent() {
  return [](UdpServer&, const std::vector<uint8_t>&, const sockaddr_storage&, socklen_t) {};
}

TEST_F(DnsblTest, BlackHoleEndsAtTheDeadlineWithTempfail) {
  UdpServer hole(base_, silent());
  resolver_ = makeResolver(hole.address(), milliseconds(300), 1);
  auto config = settings({zone("dnsbl.test", 10), zone("two.test", 10), zone("wl.test", -1)}, 0);
  config.tempfail_score = 0.5;
  const auto start = Clock::now();
  auto result = run(config, "127.0.0.2");
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(symbols(result),
            (std::vector<Sym>{{"DNSBL_TEMPFAIL", 0.5, "zone=dnsbl.test status=timeout"},
                              {"DNSBL_TEMPFAIL", 0.5, "zone=two.test status=timeout"},
                              {"DNSBL_TEMPFAIL", 0.5, "zone=wl.test status=timeout"}}));
  expectDeferred(result, "wl.test");
  EXPECT_GE(elapsed, milliseconds(250));
  EXPECT_LT(elapsed, milliseconds(850)) << "the zones are asked in parallel";
  EXPECT_EQ(hole.received(), 3);
}

TEST_F(DnsblTest, DestroyingTheHandleCancels) {
  UdpServer hole(base_, silent());
  resolver_ = makeResolver(hole.address(), milliseconds(200), 1);
  Dnsbl check(settings({zone("dnsbl.test", 10), zone("two.test", 10)}));
  int calls = 0;
  auto pending =
      check.start(pipeline::Stage::Connect, context("127.0.0.2"), [&](CheckResult) { ++calls; });
  ASSERT_NE(pending, nullptr);
  runFor(base_, milliseconds(50));
  EXPECT_EQ(hole.received(), 2);
  pending.reset();
  runFor(base_, milliseconds(400));  // past the deadline
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(resolver_->stats().in_flight, 0u);
}

TEST_F(DnsblTest, DestroyingTheHandleBeforeAnyAnswerCancels) {
  Dnsbl check(settings({zone("dnsbl.test", 10)}));
  int calls = 0;
  auto pending =
      check.start(pipeline::Stage::Connect, context("127.0.0.2"), [&](CheckResult) { ++calls; });
  pending.reset();
  runFor(base_, milliseconds(100));
  EXPECT_EQ(calls, 0);
}

TEST_F(DnsblTest, DoneMayDestroyTheHandleAndTheCheckMayGoFirst) {
  auto check = std::make_unique<Dnsbl>(settings({zone("dnsbl.test", 10), zone("two.test", 1)}));
  std::unique_ptr<pipeline::PendingCheck> pending;
  CheckResult result;
  int calls = 0;
  pending = check->start(pipeline::Stage::Connect, context("127.0.0.2"), [&](CheckResult r) {
    ++calls;
    result = std::move(r);
    pending.reset();  // as a session does when its stage completes
  });
  ASSERT_NE(pending, nullptr);
  check.reset();  // a reload dropped the check while its lookups fly
  EXPECT_TRUE(runUntil(base_, [&] { return calls > 0; }));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(pending, nullptr);
  EXPECT_EQ(result.symbols.size(), 2u);
  runFor(base_, milliseconds(20));
  EXPECT_EQ(calls, 1);
}

TEST_F(DnsblTest, ResolverMayGoBeforeTheHandle) {
  Dnsbl check(settings({zone("dnsbl.test", 10)}));
  int calls = 0;
  auto pending =
      check.start(pipeline::Stage::Connect, context("127.0.0.2"), [&](CheckResult) { ++calls; });
  resolver_.reset();
  runFor(base_, milliseconds(50));
  pending.reset();
  EXPECT_EQ(calls, 0);
}

TEST_F(DnsblTest, CachedAnswersStillComeLater) {
  auto config = settings({zone("dnsbl.test", 10)});
  run(config, "127.0.0.2");
  Dnsbl check(config);
  auto result = run(check, "127.0.0.2");  // run() checks that the answer is not inline
  EXPECT_EQ(result.symbols.size(), 1u);
  EXPECT_GE(resolver_->stats().cache_hits, 1u);
}

TEST(DnsblConfig, BadZonesAndCodesThrow) {
  auto error = [](config::DnsblZone z) -> std::string {
    try {
      Dnsbl check(settings({std::move(z)}));
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(error(zone("dnsbl.test", 1, {"127.0.0.[9..2]"})),
            "dnsbl code '127.0.0.[9..2]': octet 4: range 9..2 is reversed");
  EXPECT_EQ(error(zone("", 1)), "dnsbl zone '': not a usable DNS name");
  EXPECT_EQ(error(zone("a..b", 1)), "dnsbl zone 'a..b': not a usable DNS name");
  EXPECT_EQ(error(zone("bad zone", 1)), "dnsbl zone 'bad zone': not a usable DNS name");
  // Fine alone (198 octets), but too long with 32 nibbles of an IPv6 address in front.
  const std::string longZone =
      std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + ".test";
  ASSERT_TRUE(dns::normalizeName(longZone));
  EXPECT_EQ(error(zone(longZone, 1)), "dnsbl zone '" + longZone + "': not a usable DNS name");
  EXPECT_EQ(error(zone("zen.spamhaus.org", 1, {"127.0.0.[2..11]"})), "no error");
}

}  // namespace
}  // namespace spamgate::checks
