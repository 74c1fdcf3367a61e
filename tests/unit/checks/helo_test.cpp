// HELO sanity: classifyHelo() on a table of names, literals, bare addresses and garbage; then
// HeloCheck's symbols for a client at 192.0.2.10 / 2001:db8::10 talking to mx.spamgate.test.
#include "checks/helo.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace spamgate::checks {
namespace {

using Kind = HeloForm::Kind;

struct FormCase {
  std::string helo;
  Kind kind;
  bool fqdn = false;
};

std::string describe(Kind kind) {
  switch (kind) {
    case Kind::Invalid:
      return "Invalid";
    case Kind::Domain:
      return "Domain";
    case Kind::Literal:
      return "Literal";
    case Kind::BareIp:
      return "BareIp";
  }
  return "?";
}

const std::string kLabel63(63, 'a');
// 4 x 63 + 3 dots = 255 octets: the longest name.
const std::string kName255 = kLabel63 + "." + kLabel63 + "." + kLabel63 + "." + kLabel63;

TEST(ClassifyHelo, Table) {
  const std::vector<FormCase> cases = {
      // Domain names.
      {"mail.example.com", Kind::Domain, true},
      {"MAIL.Example.COM", Kind::Domain, true},
      {"a.b", Kind::Domain, true},
      {"xn--bcher-kva.example", Kind::Domain, true},
      {"1mail.example", Kind::Domain, true},
      {"mail-1.example-2.com", Kind::Domain, true},
      {"example.c0m", Kind::Domain, true},
      {"3com.com", Kind::Domain, true},
      {kLabel63 + ".example", Kind::Domain, true},
      {kName255, Kind::Domain, true},
      {"localhost", Kind::Domain, false},
      {"x", Kind::Domain, false},
      // Address literals.
      {"[192.0.2.1]", Kind::Literal},
      {"[IPv6:2001:db8::1]", Kind::Literal},
      {"[ipv6:2001:DB8::1]", Kind::Literal},
      {"[IPv6:::1]", Kind::Literal},
      {"[IPv6:::ffff:192.0.2.1]", Kind::Literal},
      // Bare addresses.
      {"192.0.2.1", Kind::BareIp},
      {"2001:db8::1", Kind::BareIp},
      {"::1", Kind::BareIp},
      {"::ffff:192.0.2.1", Kind::BareIp},
      // Garbage.
      {"", Kind::Invalid},
      {" ", Kind::Invalid},
      {"mail example.com", Kind::Invalid},
      {"mail_1.example.com", Kind::Invalid},
      {"mail..example.com", Kind::Invalid},
      {".example.com", Kind::Invalid},
      {"example.com.", Kind::Invalid},
      {".", Kind::Invalid},
      {"-mail.example.com", Kind::Invalid},
      {"mail-.example.com", Kind::Invalid},
      {"mail.example.com\t", Kind::Invalid},
      {"ma\xc3\xafl.example", Kind::Invalid},
      {std::string("mail\0.example", 13), Kind::Invalid},
      {"mail@example.com", Kind::Invalid},
      {"1.2.3.999", Kind::Invalid},
      {"123", Kind::Invalid},
      {"example.123", Kind::Invalid},
      {kLabel63 + "a.example", Kind::Invalid},
      {kName255 + "a", Kind::Invalid},
      {kName255 + ".a", Kind::Invalid},
      {std::string(100000, 'a'), Kind::Invalid},
      {"[192.0.2.1", Kind::Invalid},
      {"192.0.2.1]", Kind::Invalid},
      {"[]", Kind::Invalid},
      {"[ 192.0.2.1]", Kind::Invalid},
      {"[192.0.2.256]", Kind::Invalid},
      {"[192.0.2]", Kind::Invalid},
      {"[2001:db8::1]", Kind::Invalid},
      {"[IPv6:192.0.2.1]", Kind::Invalid},
      {"[IPv6:]", Kind::Invalid},
      {"[IPv6:2001:db8::1%eth0]", Kind::Invalid},
      {"[x400:whatever]", Kind::Invalid},
      {"[mail.example.com]", Kind::Invalid},
      {"[[192.0.2.1]]", Kind::Invalid},
  };
  for (const FormCase& c : cases) {
    const HeloForm form = classifyHelo(c.helo);
    const std::string shown = c.helo.substr(0, 80);
    EXPECT_EQ(describe(form.kind), describe(c.kind)) << "HELO '" << shown << "'";
    EXPECT_EQ(form.fqdn, c.fqdn) << "HELO '" << shown << "'";
    const bool has_address = c.kind == Kind::Literal || c.kind == Kind::BareIp;
    EXPECT_EQ(form.address.has_value(), has_address) << "HELO '" << shown << "'";
  }
}

TEST(ClassifyHelo, LiteralAddressesAreParsed) {
  EXPECT_EQ(classifyHelo("[IPv6:2001:db8:0:0::1]").address, parseIpAddress("2001:db8::1"));
  // An IPv4-mapped literal is the IPv4 address.
  EXPECT_EQ(classifyHelo("[IPv6:::ffff:192.0.2.1]").address, parseIpAddress("192.0.2.1"));
  EXPECT_FALSE(classifyHelo("[192.0.2.1]").address->v6);
}

struct SymbolCase {
  std::string helo;
  std::string client;
  std::vector<std::string> symbols;  // in order
};

config::Helo scores() {
  config::Helo settings;
  settings.invalid_score = 3;
  settings.bare_ip_score = 3.5;
  settings.ip_mismatch_score = 2;
  settings.claims_us_score = 5;
  settings.not_fqdn_score = 1;
  return settings;
}

constexpr const char* kV4 = "192.0.2.10";
constexpr const char* kV6 = "2001:db8::10";
constexpr const char* kUs = "mx.spamgate.test";

TEST(HeloCheck, SymbolTable) {
  const std::vector<SymbolCase> cases = {
      {"client.example.net", kV4, {}},
      {"[192.0.2.10]", kV4, {}},
      {"[192.0.2.10]", "::ffff:192.0.2.10", {}},
      {"[IPv6:::ffff:192.0.2.10]", kV4, {}},
      {"[IPv6:2001:db8::10]", kV6, {}},
      {"[IPv6:2001:DB8:0:0:0:0:0:10]", kV6, {}},
      {"[192.0.2.11]", kV4, {"HELO_IP_MISMATCH"}},
      {"[192.0.2.10]", kV6, {"HELO_IP_MISMATCH"}},
      {"[IPv6:2001:db8::11]", kV6, {"HELO_IP_MISMATCH"}},
      {"[127.0.0.1]", kV4, {"HELO_IP_MISMATCH"}},
      {"192.0.2.10", kV4, {"HELO_BARE_IP"}},
      {"2001:db8::10", kV6, {"HELO_BARE_IP"}},
      {"mx.spamgate.test", kV4, {"HELO_CLAIMS_US"}},
      {"MX.SpamGate.Test", kV4, {"HELO_CLAIMS_US"}},
      {"mx.spamgate.test.evil", kV4, {}},
      {"localhost", kV4, {"HELO_NOT_FQDN"}},
      {"WIN-7QPLM3", kV4, {"HELO_NOT_FQDN"}},
      {"bad_name.example", kV4, {"HELO_INVALID"}},
      {"", kV4, {"HELO_INVALID"}},
      {"a b", kV4, {"HELO_INVALID"}},
  };
  const HeloCheck check(scores());
  for (const SymbolCase& c : cases) {
    std::vector<std::string> names;
    for (const policy::Symbol& symbol : check.evaluate(c.helo, c.client, kUs)) {
      names.push_back(symbol.name);
      EXPECT_EQ(symbol.detail, c.helo);
    }
    EXPECT_EQ(names, c.symbols) << "HELO '" << c.helo << "' from " << c.client;
  }
}

TEST(HeloCheck, ScoresComeFromTheSettings) {
  const HeloCheck check(scores());
  EXPECT_EQ(check.evaluate("a_b", kV4, kUs).at(0).score, 3);
  EXPECT_EQ(check.evaluate("192.0.2.1", kV4, kUs).at(0).score, 3.5);
  EXPECT_EQ(check.evaluate("[192.0.2.1]", kV4, kUs).at(0).score, 2);
  EXPECT_EQ(check.evaluate(kUs, kV4, kUs).at(0).score, 5);
  EXPECT_EQ(check.evaluate("single", kV4, kUs).at(0).score, 1);
}

// A single-label hostname of ours, claimed: both facts are reported.
TEST(HeloCheck, ClaimsUsAndNotFqdnTogether) {
  const HeloCheck check(scores());
  const auto symbols = check.evaluate("SPAMGATE", kV4, "spamgate");
  ASSERT_EQ(symbols.size(), 2u);
  EXPECT_EQ(symbols[0].name, "HELO_CLAIMS_US");
  EXPECT_EQ(symbols[1].name, "HELO_NOT_FQDN");
}

TEST(HeloCheck, EmptyHostnameClaimsNothing) {
  const HeloCheck check(scores());
  EXPECT_TRUE(check.evaluate("client.example.net", kV4, "").empty());
}

TEST(HeloCheck, LongHeloDetailIsTruncated) {
  const HeloCheck check(scores());
  const std::string helo(5000, 'x');
  const auto symbols = check.evaluate(helo, kV4, kUs);
  ASSERT_EQ(symbols.size(), 1u);
  EXPECT_EQ(symbols[0].name, "HELO_INVALID");
  EXPECT_EQ(symbols[0].detail, std::string(100, 'x'));
}

TEST(HeloCheck, StartAnswersInlineWithoutOpinion) {
  HeloCheck check(scores());
  EXPECT_TRUE(check.runsAt(pipeline::Stage::Helo));
  EXPECT_FALSE(check.runsAt(pipeline::Stage::Connect));
  EXPECT_EQ(check.name(), "helo");
  pipeline::Context context;
  context.client_ip = kV4;
  context.hostname = kUs;
  context.helo = "[192.0.2.99]";
  int calls = 0;
  pipeline::CheckResult result;
  auto pending = check.start(pipeline::Stage::Helo, context, [&](pipeline::CheckResult r) {
    ++calls;
    result = std::move(r);
  });
  EXPECT_EQ(pending, nullptr);
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(result.symbols.size(), 1u);
  EXPECT_EQ(result.symbols[0].name, "HELO_IP_MISMATCH");
  EXPECT_EQ(result.symbols[0].detail, "[192.0.2.99]");
  EXPECT_FALSE(result.opinion);
}

TEST(IpAddress, ParsesAndFoldsMapped) {
  EXPECT_EQ(parseIpAddress("::ffff:127.0.0.1"), parseIpAddress("127.0.0.1"));
  EXPECT_EQ(parseIpAddress("0:0::1"), parseIpAddress("::1"));
  EXPECT_NE(parseIpAddress("::1"), parseIpAddress("127.0.0.1"));
  EXPECT_NE(parseIpAddress("::127.0.0.1"), parseIpAddress("127.0.0.1"));  // compat, not mapped
  EXPECT_FALSE(parseIpAddress(""));
  EXPECT_FALSE(parseIpAddress("localhost"));
  EXPECT_FALSE(parseIpAddress("[::1]"));
  EXPECT_FALSE(parseIpAddress("127.0.0.1:25"));
  EXPECT_FALSE(parseIpAddress(std::string("127.0.0.1\0", 10)));
}

}  // namespace
}  // namespace spamgate::checks
