// The resolver against a real nameserver: Debian's nsd on a free 127.0.0.1 port, serving
// zones the test writes (forward, reverse v4/v6, MX, TXT, a TXT RRset too big for UDP, a
// 1-second TTL) and the shared RFC 5782 DNSBL test zone when present.
#include <event2/event.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>

#include "dns/resolver.h"
#include "dns_servers.h"

namespace spamgate::dns {
namespace {

using std::chrono::milliseconds;
using test::runFor;
using test::runUntil;

const std::string kDnsblZone = std::string(SPAMGATE_TESTDATA) + "/dnsbl/dnsbl.test.zone";

std::string forwardZone() {
  std::string zone = R"($ORIGIN fwd.test.
$TTL 300
@       IN SOA ns.fwd.test. hostmaster.fwd.test. 1 3600 600 86400 30
@       IN NS  ns
ns      IN A   127.0.0.1
mail    IN A   127.0.0.2
mail    IN AAAA ::2
alias   IN CNAME mail
short 1 IN A   127.0.0.9
@       IN MX  20 backup.fwd.test.
@       IN MX  10 mail.fwd.test.
spf     IN TXT "v=spf1 " "ip4:127.0.0.2 -all"
)";
  for (int i = 0; i < 30; ++i) {  // 30 x ~73 octets: over the 1232-octet EDNS buffer
    zone += "big IN TXT \"record " + std::to_string(i) + " " + std::string(50, 'x') + "\"\n";
  }
  return zone;
}

const char* kReverse4Zone = R"($ORIGIN 127.in-addr.arpa.
$TTL 300
@       IN SOA ns.fwd.test. hostmaster.fwd.test. 1 3600 600 86400 30
@       IN NS  ns.fwd.test.
1.0.0   IN PTR localhost.
2.0.0   IN PTR mail.fwd.test.
3.0.0   IN PTR Other.FWD.test.
)";

std::string reverse6Zone() {
  return "$ORIGIN ip6.arpa.\n$TTL 300\n"
         "@ IN SOA ns.fwd.test. hostmaster.fwd.test. 1 3600 600 86400 30\n"
         "@ IN NS ns.fwd.test.\n" +
         Resolver::reverseName("::1") + ". IN PTR localhost.\n";
}

class DnsResolverNsd : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<test::Zone> zones = {{"fwd.test", forwardZone(), ""},
                                     {"127.in-addr.arpa", kReverse4Zone, ""},
                                     {"ip6.arpa", reverse6Zone(), ""}};
    has_dnsbl_ = std::filesystem::exists(kDnsblZone);
    if (has_dnsbl_) zones.push_back({"dnsbl.test", "", kDnsblZone});
    nsd_ = std::make_unique<test::Nsd>(zones);
    if (!nsd_->ok() && nsd_->error().find("not installed") != std::string::npos) {
      GTEST_SKIP() << nsd_->error();
    }
    ASSERT_TRUE(nsd_->ok()) << nsd_->error();
    resolver_ = makeResolver(nsd_->address());
  }

  void TearDown() override {
    resolver_.reset();
    nsd_.reset();
    event_base_free(base_);
  }

  std::unique_ptr<Resolver> makeResolver(const std::string& server) {
    Options options;
    options.nameservers = {server};
    options.timeout = milliseconds(1000);
    return Resolver::create(base_, options);
  }

  Result resolve(const std::string& name, Type type) {
    std::optional<Result> got;
    auto lookup = resolver_->lookup(name, type, [&](Result result) { got = std::move(result); });
    EXPECT_TRUE(runUntil(base_, [&] { return got.has_value(); }));
    return got.value_or(Result{});
  }

  event_base* base_ = event_base_new();
  std::unique_ptr<test::Nsd> nsd_;
  std::unique_ptr<Resolver> resolver_;
  bool has_dnsbl_ = false;
};

using Records = std::vector<std::string>;

TEST_F(DnsResolverNsd, ForwardTypes) {
  Result a = resolve("mail.fwd.test", Type::A);
  EXPECT_EQ(a.status, Status::Ok);
  EXPECT_EQ(a.records, Records{"127.0.0.2"});
  EXPECT_EQ(a.ttl, 300u);
  EXPECT_FALSE(a.from_cache);
  EXPECT_EQ(resolve("MAIL.fwd.test.", Type::AAAA).records, Records{"::2"});
  EXPECT_EQ(resolve("fwd.test", Type::MX).records,
            (Records{"10 mail.fwd.test", "20 backup.fwd.test"}));
  EXPECT_EQ(resolve("spf.fwd.test", Type::TXT).records, Records{"v=spf1 ip4:127.0.0.2 -all"});
  EXPECT_EQ(resolve("alias.fwd.test", Type::A).records, Records{"127.0.0.2"});
}

TEST_F(DnsResolverNsd, ReverseLookups) {
  EXPECT_EQ(resolve(Resolver::reverseName("127.0.0.2"), Type::PTR).records,
            Records{"mail.fwd.test"});
  EXPECT_EQ(resolve(Resolver::reverseName("127.0.0.3"), Type::PTR).records,
            Records{"other.fwd.test"});
  EXPECT_EQ(resolve(Resolver::reverseName("::ffff:127.0.0.1"), Type::PTR).records,
            Records{"localhost"});
  EXPECT_EQ(resolve(Resolver::reverseName("::1"), Type::PTR).records, Records{"localhost"});
  EXPECT_EQ(resolve(Resolver::reverseName("127.0.0.99"), Type::PTR).status, Status::NxDomain);
}

TEST_F(DnsResolverNsd, NegativeAnswersAreCachedForTheSoaMinimum) {
  Result nx = resolve("nothere.fwd.test", Type::A);
  EXPECT_EQ(nx.status, Status::NxDomain);
  EXPECT_EQ(nx.ttl, 30u);
  Result nodata = resolve("mail.fwd.test", Type::TXT);
  EXPECT_EQ(nodata.status, Status::NoData);
  EXPECT_EQ(nodata.ttl, 30u);
  uint64_t sent = resolver_->stats().udp_sent;
  Result again = resolve("NotHere.fwd.test", Type::A);
  EXPECT_EQ(again.status, Status::NxDomain);
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(resolver_->stats().udp_sent, sent);
}

TEST_F(DnsResolverNsd, RefusedOutsideItsZones) {
  EXPECT_EQ(resolve("www.example.invalid", Type::A).status, Status::Refused);
}

TEST_F(DnsResolverNsd, TruncatedAnswerIsFetchedOverTcp) {
  Result big = resolve("big.fwd.test", Type::TXT);
  EXPECT_EQ(big.status, Status::Ok);
  EXPECT_EQ(big.records.size(), 30u);
  Stats stats = resolver_->stats();
  EXPECT_EQ(stats.truncated, 1u);
  EXPECT_EQ(stats.tcp_sent, 1u);
  EXPECT_EQ(stats.udp_sent, 1u);
}

TEST_F(DnsResolverNsd, AnswerExpiresWithItsTtl) {
  Result first = resolve("short.fwd.test", Type::A);
  EXPECT_EQ(first.records, Records{"127.0.0.9"});
  EXPECT_EQ(first.ttl, 1u);
  EXPECT_TRUE(resolve("short.fwd.test", Type::A).from_cache);
  EXPECT_EQ(resolver_->stats().udp_sent, 1u);
  runFor(base_, milliseconds(1100));
  Result later = resolve("short.fwd.test", Type::A);
  EXPECT_FALSE(later.from_cache);
  EXPECT_EQ(later.records, Records{"127.0.0.9"});
  EXPECT_EQ(resolver_->stats().udp_sent, 2u);
}

TEST_F(DnsResolverNsd, IdenticalLookupsInFlightShareOneQuery) {
  test::UdpProxy proxy(base_, nsd_->port());
  resolver_ = makeResolver(proxy.address());
  std::vector<std::unique_ptr<Lookup>> lookups;
  int answered = 0;
  for (int i = 0; i < 50; ++i) {
    lookups.push_back(resolver_->lookup("mail.fwd.test", Type::A, [&](Result result) {
      EXPECT_EQ(result.records, Records{"127.0.0.2"});
      ++answered;
    }));
  }
  ASSERT_TRUE(runUntil(base_, [&] { return answered == 50; }));
  EXPECT_EQ(proxy.forwarded(), 1);  // what nsd saw
  Stats stats = resolver_->stats();
  EXPECT_EQ(stats.queries, 1u);
  EXPECT_EQ(stats.merged, 49u);
  EXPECT_EQ(stats.udp_sent, 1u);
}

TEST_F(DnsResolverNsd, CancellingOneWaiterLeavesTheOthers) {
  int answered = 0;
  bool cancelled_ran = false;
  auto first = resolver_->lookup("mail.fwd.test", Type::A, [&](Result) { ++answered; });
  auto second = resolver_->lookup("mail.fwd.test", Type::A, [&](Result) { cancelled_ran = true; });
  auto third = resolver_->lookup("mail.fwd.test", Type::A, [&](Result) { ++answered; });
  second.reset();
  ASSERT_TRUE(runUntil(base_, [&] { return answered == 2; }));
  runFor(base_, milliseconds(50));
  EXPECT_FALSE(cancelled_ran);
  EXPECT_EQ(resolver_->stats().cancelled, 0u);
}

TEST_F(DnsResolverNsd, CancellingEveryWaiterStopsTheQuery) {
  bool ran = false;
  auto first = resolver_->lookup("mail.fwd.test", Type::A, [&](Result) { ran = true; });
  auto second = resolver_->lookup("mail.fwd.test", Type::A, [&](Result) { ran = true; });
  EXPECT_EQ(resolver_->stats().in_flight, 1u);
  first.reset();
  second.reset();
  Stats stats = resolver_->stats();
  EXPECT_EQ(stats.in_flight, 0u);
  EXPECT_EQ(stats.cancelled, 1u);
  runFor(base_, milliseconds(200));
  EXPECT_FALSE(ran);
  EXPECT_EQ(resolver_->stats().cache_entries, 0u);  // the answer was never read
}

TEST_F(DnsResolverNsd, CallbacksNeverRunInsideLookup) {
  resolve("mail.fwd.test", Type::A);
  bool ran = false;
  auto cached = resolver_->lookup("mail.fwd.test", Type::A, [&](Result) { ran = true; });
  auto bad =
      resolver_->lookup("a..b", Type::A, [&](Result r) { EXPECT_EQ(r.status, Status::BadName); });
  EXPECT_FALSE(ran);
  ASSERT_TRUE(runUntil(base_, [&] { return ran; }));
}

TEST_F(DnsResolverNsd, DnsblZone) {
  if (!has_dnsbl_) GTEST_SKIP() << "shared test data not found: " << kDnsblZone;
  EXPECT_EQ(resolve(reversedAddress("127.0.0.2") + ".dnsbl.test", Type::A).records,
            Records{"127.0.0.2"});
  EXPECT_EQ(resolve("2.0.0.127.dnsbl.test", Type::TXT).records,
            Records{"Listed: RFC 5782 test entry"});
  EXPECT_EQ(resolve("1.0.0.127.dnsbl.test", Type::A).status, Status::NxDomain);
  EXPECT_EQ(resolve("10.2.0.192.dnsbl.test", Type::A).records,
            (Records{"127.0.0.2", "127.0.0.4", "127.0.0.10"}));
  EXPECT_EQ(resolve("11.2.0.192.dnsbl.test", Type::TXT).status, Status::NoData);
  EXPECT_EQ(resolve("254.2.0.192.dnsbl.test", Type::A).records, Records{"127.255.255.254"});
  EXPECT_EQ(
      resolve("2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.dnsbl.test", Type::A)
          .records,
      Records{"127.0.0.2"});
  EXPECT_EQ(resolve("test.dnsbl.test", Type::A).records, Records{"127.0.0.2"});
  EXPECT_EQ(resolve("invalid.dnsbl.test", Type::A).status, Status::NxDomain);
}

}  // namespace
}  // namespace spamgate::dns
