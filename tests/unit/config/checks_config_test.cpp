// Config of the connection-stage checks: [dns], [lists], [dnsbl] with [[dnsbl.zones]],
// [fcrdns], [helo], [pregreet], [rate_limits]. Defaults, every key, every class of error with
// its exact "FILE:LINE: key 'K': reason", and load()'s list file checks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>

#include "config/config.h"

namespace spamgate::config {
namespace {

using std::chrono::milliseconds;

std::string errorOf(const std::string& text) {
  try {
    parse(text, "t.toml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

std::string loadError(const std::string& path) {
  try {
    load(path);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(CheckConfigDefaults, MatchTheDocumentedValues) {
  const Snapshot c = parse("", "t.toml");
  EXPECT_TRUE(c->dns.nameservers.empty());
  EXPECT_EQ(c->dns.timeout, milliseconds(2000));
  EXPECT_EQ(c->dns.retries, 1u);
  EXPECT_EQ(c->dns.cache_entries, 100000u);

  EXPECT_TRUE(c->lists.enabled);
  EXPECT_FALSE(c->lists.score_only);
  EXPECT_TRUE(c->lists.allow.empty());
  EXPECT_TRUE(c->lists.deny.empty());
  EXPECT_DOUBLE_EQ(c->lists.deny_score, 100);
  EXPECT_EQ(c->lists.reject_at, RejectAt::Rcpt);

  EXPECT_TRUE(c->dnsbl.enabled);
  EXPECT_FALSE(c->dnsbl.score_only);
  EXPECT_DOUBLE_EQ(c->dnsbl.reject_weight, 10);
  EXPECT_EQ(c->dnsbl.reject_at, RejectAt::Rcpt);
  EXPECT_DOUBLE_EQ(c->dnsbl.tempfail_score, 0);
  EXPECT_TRUE(c->dnsbl.zones.empty());

  EXPECT_TRUE(c->fcrdns.enabled);
  EXPECT_FALSE(c->fcrdns.reject);
  EXPECT_DOUBLE_EQ(c->fcrdns.no_ptr_score, 3);
  EXPECT_DOUBLE_EQ(c->fcrdns.mismatch_score, 2);
  EXPECT_DOUBLE_EQ(c->fcrdns.tempfail_score, 0);

  EXPECT_TRUE(c->helo.enabled);
  EXPECT_DOUBLE_EQ(c->helo.invalid_score, 3);
  EXPECT_DOUBLE_EQ(c->helo.bare_ip_score, 3);
  EXPECT_DOUBLE_EQ(c->helo.ip_mismatch_score, 2);
  EXPECT_DOUBLE_EQ(c->helo.claims_us_score, 5);
  EXPECT_DOUBLE_EQ(c->helo.not_fqdn_score, 1);

  EXPECT_TRUE(c->pregreet.enabled);
  EXPECT_FALSE(c->pregreet.enforce);
  EXPECT_EQ(c->pregreet.wait, milliseconds(0));
  EXPECT_DOUBLE_EQ(c->pregreet.score, 5);

  EXPECT_TRUE(c->rate_limits.enabled);
  EXPECT_FALSE(c->rate_limits.score_only);
  EXPECT_EQ(c->rate_limits.connections_per_minute, 0u);
  EXPECT_EQ(c->rate_limits.messages_per_minute, 0u);
  EXPECT_EQ(c->rate_limits.recipients_per_minute, 0u);
}

constexpr const char* kChecksFile = R"([dns]
nameservers = ["127.0.0.1:5353", "[::1]:5300", "192.0.2.53", "2001:DB8::53", "[2001:db8::54]"]
timeout = 0.25
retries = 3
cache_entries = 5000

[lists]
enabled = false
score_only = true
allow = ["/etc/spamgate/allow.cidr", "allow2.cidr"]
deny = ["deny.cidr"]
deny_score = 42.5
reject_at = "connect"

[dnsbl]
enabled = false
score_only = true
reject_weight = 7.5
reject_at = "connect"
tempfail_score = 0.5

[[dnsbl.zones]]
zone = "zen.spamhaus.org"
weight = 10
codes = ["127.0.0.[2..11]", "127.0.0.[2;4;8]", "127.0.1.2"]

[[dnsbl.zones]]
zone = "list.dnswl.org."
weight = -5.5

[fcrdns]
enabled = false
reject = true
no_ptr_score = 1.5
mismatch_score = -1
tempfail_score = 0.25

[helo]
enabled = false
invalid_score = 4
bare_ip_score = 4.5
ip_mismatch_score = 2.25
claims_us_score = 9
not_fqdn_score = -0.5

[pregreet]
enabled = false
enforce = true
wait = 6
score = 7.25

[rate_limits]
enabled = false
score_only = true
connections_per_minute = 120
messages_per_minute = 1000000
recipients_per_minute = 17
)";

TEST(CheckConfigParse, EveryKey) {
  const Snapshot c = parse(kChecksFile, "checks.toml");
  const Dns& dns = c->dns;
  ASSERT_EQ(dns.nameservers.size(), 5u);
  EXPECT_EQ(dns.nameservers[0].text(), "127.0.0.1:5353");
  EXPECT_EQ(dns.nameservers[1].text(), "[::1]:5300");
  EXPECT_EQ(dns.nameservers[2].text(), "192.0.2.53:53");  // a bare address means port 53
  EXPECT_EQ(dns.nameservers[3].text(), "[2001:db8::53]:53");
  EXPECT_EQ(dns.nameservers[4].text(), "[2001:db8::54]:53");
  EXPECT_EQ(dns.timeout, milliseconds(250));
  EXPECT_EQ(dns.retries, 3u);
  EXPECT_EQ(dns.cache_entries, 5000u);

  const Lists& lists = c->lists;
  EXPECT_FALSE(lists.enabled);
  EXPECT_TRUE(lists.score_only);
  EXPECT_EQ(lists.allow, (std::vector<std::string>{"/etc/spamgate/allow.cidr", "allow2.cidr"}));
  EXPECT_EQ(lists.deny, (std::vector<std::string>{"deny.cidr"}));
  EXPECT_DOUBLE_EQ(lists.deny_score, 42.5);
  EXPECT_EQ(lists.reject_at, RejectAt::Connect);

  const Dnsbl& dnsbl = c->dnsbl;
  EXPECT_FALSE(dnsbl.enabled);
  EXPECT_TRUE(dnsbl.score_only);
  EXPECT_DOUBLE_EQ(dnsbl.reject_weight, 7.5);
  EXPECT_EQ(dnsbl.reject_at, RejectAt::Connect);
  EXPECT_DOUBLE_EQ(dnsbl.tempfail_score, 0.5);
  ASSERT_EQ(dnsbl.zones.size(), 2u);
  EXPECT_EQ(dnsbl.zones[0].zone, "zen.spamhaus.org");
  EXPECT_DOUBLE_EQ(dnsbl.zones[0].weight, 10);
  EXPECT_EQ(dnsbl.zones[0].codes,
            (std::vector<std::string>{"127.0.0.[2..11]", "127.0.0.[2;4;8]", "127.0.1.2"}));
  EXPECT_EQ(dnsbl.zones[1].zone, "list.dnswl.org");  // the trailing dot is dropped
  EXPECT_DOUBLE_EQ(dnsbl.zones[1].weight, -5.5);
  EXPECT_TRUE(dnsbl.zones[1].codes.empty());

  const Fcrdns& fcrdns = c->fcrdns;
  EXPECT_FALSE(fcrdns.enabled);
  EXPECT_TRUE(fcrdns.reject);
  EXPECT_DOUBLE_EQ(fcrdns.no_ptr_score, 1.5);
  EXPECT_DOUBLE_EQ(fcrdns.mismatch_score, -1);
  EXPECT_DOUBLE_EQ(fcrdns.tempfail_score, 0.25);

  const Helo& helo = c->helo;
  EXPECT_FALSE(helo.enabled);
  EXPECT_DOUBLE_EQ(helo.invalid_score, 4);
  EXPECT_DOUBLE_EQ(helo.bare_ip_score, 4.5);
  EXPECT_DOUBLE_EQ(helo.ip_mismatch_score, 2.25);
  EXPECT_DOUBLE_EQ(helo.claims_us_score, 9);
  EXPECT_DOUBLE_EQ(helo.not_fqdn_score, -0.5);

  const Pregreet& pregreet = c->pregreet;
  EXPECT_FALSE(pregreet.enabled);
  EXPECT_TRUE(pregreet.enforce);
  EXPECT_EQ(pregreet.wait, milliseconds(6000));
  EXPECT_DOUBLE_EQ(pregreet.score, 7.25);

  const RateLimits& rate = c->rate_limits;
  EXPECT_FALSE(rate.enabled);
  EXPECT_TRUE(rate.score_only);
  EXPECT_EQ(rate.connections_per_minute, 120u);
  EXPECT_EQ(rate.messages_per_minute, 1000000u);
  EXPECT_EQ(rate.recipients_per_minute, 17u);
}

TEST(CheckConfigParse, SecondsKeepMilliseconds) {
  const Snapshot c = parse("[dns]\ntimeout = 0.001\n[pregreet]\nwait = 1.5\n", "t.toml");
  EXPECT_EQ(c->dns.timeout, milliseconds(1));
  EXPECT_EQ(c->pregreet.wait, milliseconds(1500));
  const Snapshot top = parse("[dns]\ntimeout = 60\n[pregreet]\nwait = 30.0\n", "t.toml");
  EXPECT_EQ(top->dns.timeout, milliseconds(60000));
  EXPECT_EQ(top->pregreet.wait, milliseconds(30000));
  const Snapshot rounded = parse("[dns]\ntimeout = 0.0016\n", "t.toml");
  EXPECT_EQ(rounded->dns.timeout, milliseconds(2));
}

TEST(CheckConfigParse, EmptyNameserversMeansResolvConf) {
  EXPECT_TRUE(parse("[dns]\nnameservers = []\n", "t.toml")->dns.nameservers.empty());
}

TEST(CheckConfigParse, InlineZoneTablesAndEmptyCodes) {
  const Snapshot c = parse(
      "[dnsbl]\nzones = [\n  { zone = \"a.test\", weight = 2 },\n  { zone = \"b.test\", codes = [] "
      "},\n]\n",
      "t.toml");
  ASSERT_EQ(c->dnsbl.zones.size(), 2u);
  EXPECT_EQ(c->dnsbl.zones[0].zone, "a.test");
  EXPECT_DOUBLE_EQ(c->dnsbl.zones[0].weight, 2);
  EXPECT_EQ(c->dnsbl.zones[1].zone, "b.test");
  EXPECT_DOUBLE_EQ(c->dnsbl.zones[1].weight, 1);  // the default weight
  EXPECT_TRUE(c->dnsbl.zones[1].codes.empty());   // [] is "any code", as absent
}

TEST(CheckConfigParse, ZonesWithoutADnsblTable) {
  // [[dnsbl.zones]] alone creates [dnsbl]; everything else keeps its default.
  const Snapshot c = parse("[[dnsbl.zones]]\nzone = \"dnsbl.test\"\nweight = 10\n", "t.toml");
  ASSERT_EQ(c->dnsbl.zones.size(), 1u);
  EXPECT_EQ(c->dnsbl.zones[0].zone, "dnsbl.test");
  EXPECT_DOUBLE_EQ(c->dnsbl.zones[0].weight, 10);
  EXPECT_TRUE(c->dnsbl.enabled);
  EXPECT_DOUBLE_EQ(c->dnsbl.reject_weight, 10);
}

// Errors in the n-th zone name that zone (counted from 0) and the line of the entry or value.
constexpr const char* kZones = R"([dnsbl]
reject_weight = 10

[[dnsbl.zones]]
zone = "zen.spamhaus.org"
weight = 10

[[dnsbl.zones]]
zone = "bl.example"
codes = ["127.0.0.2"]

[[dnsbl.zones]]
zone = "list.dnswl.org"
weight = -5
)";

TEST(CheckConfigZones, ErrorsNameTheEntryAndItsLine) {
  const std::string zones = kZones;
  EXPECT_EQ(errorOf(zones + "bogus = 1\n"), "t.toml:15: key 'dnsbl.zones[2].bogus': unknown key");
  EXPECT_EQ(errorOf(zones + "\n[[dnsbl.zones]]\nweight = 1\n"),
            "t.toml:16: key 'dnsbl.zones[3].zone': missing (required)");
  EXPECT_EQ(errorOf(zones + "\n[[dnsbl.zones]]\nzone = \"ZEN.spamhaus.org.\"\n"),
            "t.toml:17: key 'dnsbl.zones[3].zone': zone listed twice");
  EXPECT_EQ(errorOf(zones + "[dnsbl.zones.sub]\nx = 1\n"),
            "t.toml:15: key 'dnsbl.zones[2].sub': unknown key");

  std::string weight = kZones;
  weight.replace(weight.find("weight = -5"), 11, "weight = \"-5\"");
  EXPECT_EQ(errorOf(weight),
            "t.toml:14: key 'dnsbl.zones[2].weight': expected a number, got a string");

  std::string codes = kZones;
  codes.replace(codes.find("[\"127.0.0.2\"]"), 13, "[\n  \"127.0.0.2\",\n  \"127.0.0.[3..]\",\n]");
  EXPECT_EQ(errorOf(codes),
            "t.toml:12: key 'dnsbl.zones[1].codes': \"127.0.0.[3..]\": octet 4: expected a number "
            "0-255 after \"..\"");
}

struct ErrorCase {
  const char* name;
  const char* text;
  const char* message;
};

void PrintTo(const ErrorCase& error_case, std::ostream* out) {
  *out << error_case.name;
}

std::string caseName(const ::testing::TestParamInfo<ErrorCase>& param_info) {
  return param_info.param.name;
}

class CheckConfigErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(CheckConfigErrors, NamesFileLineAndKey) {
  EXPECT_EQ(errorOf(GetParam().text), GetParam().message);
}

const ErrorCase kUnknown[] = {
    {"Dns", "[dns]\ntimeout = 1\nattempts = 2\n", "t.toml:3: key 'dns.attempts': unknown key"},
    {"Lists", "[lists]\nallowed = []\n", "t.toml:2: key 'lists.allowed': unknown key"},
    {"Dnsbl", "[dnsbl]\nreject_score = 1\n", "t.toml:2: key 'dnsbl.reject_score': unknown key"},
    {"DnsblZoneTypo", "[[dnsbl.zone]]\nzone = \"a.test\"\n",
     "t.toml:1: key 'dnsbl.zone': unknown key"},
    {"Zone", "[[dnsbl.zones]]\nzone = \"a.test\"\nscore = 1\n",
     "t.toml:3: key 'dnsbl.zones[0].score': unknown key"},
    {"Fcrdns", "[fcrdns]\nreject_score = 1\n", "t.toml:2: key 'fcrdns.reject_score': unknown key"},
    {"Helo", "[helo]\nfqdn_score = 1\n", "t.toml:2: key 'helo.fqdn_score': unknown key"},
    {"Pregreet", "[pregreet]\ndelay = 1\n", "t.toml:2: key 'pregreet.delay': unknown key"},
    {"RateLimits", "[rate_limits]\nconcurrency = 1\n",
     "t.toml:2: key 'rate_limits.concurrency': unknown key"},
};
INSTANTIATE_TEST_SUITE_P(Unknown, CheckConfigErrors, ::testing::ValuesIn(kUnknown), caseName);

const ErrorCase kType[] = {
    {"NameserversString", "[dns]\nnameservers = \"127.0.0.1\"\n",
     "t.toml:2: key 'dns.nameservers': expected an array of strings, got a string"},
    {"TimeoutString", "[dns]\ntimeout = \"2s\"\n",
     "t.toml:2: key 'dns.timeout': expected a number, got a string"},
    {"TimeoutInfinite", "[dns]\ntimeout = inf\n",
     "t.toml:2: key 'dns.timeout': must be a finite number"},
    {"RetriesFloat", "[dns]\nretries = 1.5\n",
     "t.toml:2: key 'dns.retries': expected an integer, got a float"},
    {"ListsEnabled", "[lists]\nenabled = 1\n",
     "t.toml:2: key 'lists.enabled': expected a boolean, got an integer"},
    {"ListsAllowInteger", "[lists]\nallow = [\n  \"a.cidr\",\n  3,\n]\n",
     "t.toml:4: key 'lists.allow': expected an array of strings, got an integer"},
    {"ListsDenyString", "[lists]\ndeny = \"deny.cidr\"\n",
     "t.toml:2: key 'lists.deny': expected an array of strings, got a string"},
    {"DenyScore", "[lists]\ndeny_score = \"high\"\n",
     "t.toml:2: key 'lists.deny_score': expected a number, got a string"},
    {"ZonesTable", "[dnsbl.zones]\nzone = \"a.test\"\n",
     "t.toml:1: key 'dnsbl.zones': expected an array of tables, got a table"},
    {"ZonesStrings", "[dnsbl]\nzones = [\"zen.spamhaus.org\"]\n",
     "t.toml:2: key 'dnsbl.zones': expected an array of tables, got a string"},
    {"ZoneInteger", "[[dnsbl.zones]]\nzone = 1\n",
     "t.toml:2: key 'dnsbl.zones[0].zone': expected a string, got an integer"},
    {"CodesString", "[[dnsbl.zones]]\nzone = \"a.test\"\ncodes = \"127.0.0.2\"\n",
     "t.toml:3: key 'dnsbl.zones[0].codes': expected an array of strings, got a string"},
    {"CodesInteger", "[[dnsbl.zones]]\nzone = \"a.test\"\ncodes = [2]\n",
     "t.toml:3: key 'dnsbl.zones[0].codes': expected an array of strings, got an integer"},
    {"FcrdnsReject", "[fcrdns]\nreject = \"yes\"\n",
     "t.toml:2: key 'fcrdns.reject': expected a boolean, got a string"},
    {"HeloScore", "[helo]\nclaims_us_score = true\n",
     "t.toml:2: key 'helo.claims_us_score': expected a number, got a boolean"},
    {"PregreetWait", "[pregreet]\nwait = \"1\"\n",
     "t.toml:2: key 'pregreet.wait': expected a number, got a string"},
    {"RateFloat", "[rate_limits]\nmessages_per_minute = 60.0\n",
     "t.toml:2: key 'rate_limits.messages_per_minute': expected an integer, got a float"},
    {"ScoreNan", "[pregreet]\nscore = nan\n",
     "t.toml:2: key 'pregreet.score': must be a finite number"},
};
INSTANTIATE_TEST_SUITE_P(Type, CheckConfigErrors, ::testing::ValuesIn(kType), caseName);

const ErrorCase kRange[] = {
    {"TimeoutZero", "[dns]\ntimeout = 0\n",
     "t.toml:2: key 'dns.timeout': must be between 0.001 and 60 seconds, not 0"},
    {"TimeoutTiny", "[dns]\ntimeout = 0.0005\n",
     "t.toml:2: key 'dns.timeout': must be between 0.001 and 60 seconds, not 0.0005"},
    {"TimeoutLong", "[dns]\ntimeout = 60.5\n",
     "t.toml:2: key 'dns.timeout': must be between 0.001 and 60 seconds, not 60.5"},
    {"RetriesHigh", "[dns]\nretries = 11\n",
     "t.toml:2: key 'dns.retries': must be between 0 and 10, not 11"},
    {"RetriesNegative", "[dns]\nretries = -1\n",
     "t.toml:2: key 'dns.retries': must not be negative"},
    {"CacheZero", "[dns]\ncache_entries = 0\n",
     "t.toml:2: key 'dns.cache_entries': must be between 1 and 10000000, not 0"},
    {"CacheHuge", "[dns]\ncache_entries = 10000001\n",
     "t.toml:2: key 'dns.cache_entries': must be between 1 and 10000000, not 10000001"},
    {"RejectWeightZero", "[dnsbl]\nreject_weight = 0\n",
     "t.toml:2: key 'dnsbl.reject_weight': must be greater than 0"},
    {"RejectWeightNegative", "[dnsbl]\n\nreject_weight = -2.5\n",
     "t.toml:3: key 'dnsbl.reject_weight': must be greater than 0"},
    {"WaitNegative", "[pregreet]\nwait = -1\n",
     "t.toml:2: key 'pregreet.wait': must be between 0 and 30 seconds, not -1"},
    {"WaitLong", "[pregreet]\nwait = 30.5\n",
     "t.toml:2: key 'pregreet.wait': must be between 0 and 30 seconds, not 30.5"},
    {"ConnectionsHigh", "[rate_limits]\nconnections_per_minute = 1000001\n",
     "t.toml:2: key 'rate_limits.connections_per_minute': must be between 0 and 1000000, not "
     "1000001"},
    {"MessagesNegative", "[rate_limits]\nmessages_per_minute = -5\n",
     "t.toml:2: key 'rate_limits.messages_per_minute': must not be negative"},
    {"RecipientsHigh", "[rate_limits]\nrecipients_per_minute = 2000000\n",
     "t.toml:2: key 'rate_limits.recipients_per_minute': must be between 0 and 1000000, not "
     "2000000"},
};
INSTANTIATE_TEST_SUITE_P(Range, CheckConfigErrors, ::testing::ValuesIn(kRange), caseName);

const ErrorCase kEnum[] = {
    {"ListsRejectAt", "[lists]\nreject_at = \"data\"\n",
     "t.toml:2: key 'lists.reject_at': must be one of \"connect\", \"rcpt\", not \"data\""},
    {"DnsblRejectAt", "[dnsbl]\nreject_at = \"RCPT\"\n",
     "t.toml:2: key 'dnsbl.reject_at': must be one of \"connect\", \"rcpt\", not \"RCPT\""},
    {"RejectAtBool", "[dnsbl]\nreject_at = true\n",
     "t.toml:2: key 'dnsbl.reject_at': expected a string, got a boolean"},
};
INSTANTIATE_TEST_SUITE_P(Enum, CheckConfigErrors, ::testing::ValuesIn(kEnum), caseName);

const ErrorCase kNameserver[] = {
    {"HostName", "[dns]\nnameservers = [\"dns.example\"]\n",
     "t.toml:2: key 'dns.nameservers': \"dns.example\": not a numeric IPv4 address (host names "
     "are not resolved)"},
    {"HostNameWithPort", "[dns]\nnameservers = [\"dns.example:53\"]\n",
     "t.toml:2: key 'dns.nameservers': \"dns.example:53\": not a numeric IPv4 address (host "
     "names are not resolved)"},
    {"PortZero", "[dns]\nnameservers = [\"127.0.0.1:0\"]\n",
     "t.toml:2: key 'dns.nameservers': \"127.0.0.1:0\": port must be between 1 and 65535"},
    {"PortNotNumber", "[dns]\nnameservers = [\"127.0.0.1:domain\"]\n",
     "t.toml:2: key 'dns.nameservers': \"127.0.0.1:domain\": port must be a number"},
    {"BadIpv6", "[dns]\nnameservers = [\"2001:db8::g\"]\n",
     "t.toml:2: key 'dns.nameservers': \"2001:db8::g\": not a numeric IPv6 address (with a port: "
     "\"[ADDRESS]:PORT\")"},
    {"BadBracketedIpv6", "[dns]\nnameservers = [\"[::g]\"]\n",
     "t.toml:2: key 'dns.nameservers': \"[::g]\": not a numeric IPv6 address"},
    {"Ipv6MissingBracket", "[dns]\nnameservers = [\"[::1:53\"]\n",
     "t.toml:2: key 'dns.nameservers': \"[::1:53\": missing ']' after IPv6 address"},
    {"Empty", "[dns]\nnameservers = [\"\"]\n",
     "t.toml:2: key 'dns.nameservers': \"\": must not be empty"},
    {"Duplicate", "[dns]\nnameservers = [\n  \"127.0.0.1\",\n  \"127.0.0.1:53\",\n]\n",
     "t.toml:4: key 'dns.nameservers': \"127.0.0.1:53\": nameserver listed twice"},
    {"DuplicateIpv6", "[dns]\nnameservers = [\"::1\", \"[0::1]:53\"]\n",
     "t.toml:2: key 'dns.nameservers': \"[0::1]:53\": nameserver listed twice"},
};
INSTANTIATE_TEST_SUITE_P(Nameserver, CheckConfigErrors, ::testing::ValuesIn(kNameserver), caseName);

const ErrorCase kPath[] = {
    {"AllowEmpty", "[lists]\nallow = [\"\"]\n",
     "t.toml:2: key 'lists.allow': \"\": must not be empty"},
    {"DenyControl", "[lists]\ndeny = [\n  \"ok.cidr\",\n  \"a\\nb\",\n]\n",
     "t.toml:4: key 'lists.deny': \"a\nb\": contains a control character"},
};
INSTANTIATE_TEST_SUITE_P(Path, CheckConfigErrors, ::testing::ValuesIn(kPath), caseName);

const ErrorCase kZone[] = {
    {"Missing", "[dnsbl]\n[[dnsbl.zones]]\nweight = 3\n",
     "t.toml:2: key 'dnsbl.zones[0].zone': missing (required)"},
    {"MissingInline", "[dnsbl]\nzones = [\n  { zone = \"a.test\" },\n  { weight = 2 },\n]\n",
     "t.toml:4: key 'dnsbl.zones[1].zone': missing (required)"},
    {"Empty", "[[dnsbl.zones]]\nzone = \"\"\n",
     "t.toml:2: key 'dnsbl.zones[0].zone': must not be empty"},
    {"OnlyADot", "[[dnsbl.zones]]\nzone = \".\"\n",
     "t.toml:2: key 'dnsbl.zones[0].zone': empty label in host name"},
    {"Space", "[[dnsbl.zones]]\nzone = \"zen spamhaus.org\"\n",
     "t.toml:2: key 'dnsbl.zones[0].zone': host names allow only letters, digits, '-' and '.'"},
    {"EmptyLabel", "[[dnsbl.zones]]\nzone = \"zen..spamhaus.org\"\n",
     "t.toml:2: key 'dnsbl.zones[0].zone': empty label in host name"},
    {"LongLabel",
     "[[dnsbl.zones]]\nzone = "
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test\"\n",
     "t.toml:2: key 'dnsbl.zones[0].zone': label longer than 63 characters"},
    {"TooLongForIpv6",
     "[[dnsbl.zones]]\nzone = "
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test\"\n",
     "t.toml:2: key 'dnsbl.zones[0].zone': longer than 189 characters (IPv6 query names would "
     "exceed 253)"},
    {"Duplicate", "[[dnsbl.zones]]\nzone = \"a.test\"\n[[dnsbl.zones]]\nzone = \"A.Test\"\n",
     "t.toml:4: key 'dnsbl.zones[1].zone': zone listed twice"},
    {"WeightInfinite", "[[dnsbl.zones]]\nzone = \"a.test\"\nweight = -inf\n",
     "t.toml:3: key 'dnsbl.zones[0].weight': must be a finite number"},
};
INSTANTIATE_TEST_SUITE_P(Zone, CheckConfigErrors, ::testing::ValuesIn(kZone), caseName);

#define FOUR_OCTETS \
  "expected four octets separated by '.', as in \"127.0.0.2\" or \"127.0.0.[2..11]\""
// Each case is one `codes` entry of zone 0, on line 3.
#define CODE_CASE(name, code, reason)                                     \
  ErrorCase {                                                             \
    name, "[[dnsbl.zones]]\nzone = \"a.test\"\ncodes = [\"" code "\"]\n", \
        "t.toml:3: key 'dnsbl.zones[0].codes': \"" code "\": " reason     \
  }
const ErrorCase kCodes[] = {
    CODE_CASE("Empty", "", "must not be empty"),
    CODE_CASE("ThreeOctets", "127.0.0", FOUR_OCTETS),
    CODE_CASE("FiveOctets", "127.0.0.2.1", FOUR_OCTETS),
    CODE_CASE("TrailingSpace", "127.0.0.2 ", FOUR_OCTETS),
    CODE_CASE("Letters", "127.0.0.x", "octet 4: expected a number 0-255 or [...]"),
    CODE_CASE("EmptyOctet", "127..0.2", "octet 2: expected a number 0-255 or [...]"),
    CODE_CASE("Wildcard", "127.0.0.*", "octet 4: expected a number 0-255 or [...]"),
    CODE_CASE("Above255", "127.0.256.2", "octet 3: 256 is above 255"),
    CODE_CASE("FourDigits", "0127.0.0.2", "octet 1: number longer than 3 digits"),
    CODE_CASE("EmptyBrackets", "127.0.0.[]", "octet 4: expected a number 0-255 inside [...]"),
    CODE_CASE("EmptyItem", "127.0.0.[2;;4]", "octet 4: expected a number 0-255 inside [...]"),
    CODE_CASE("MissingBracket", "127.0.0.[2..11", "octet 4: missing ']'"),
    CODE_CASE("CommaSeparated", "127.0.0.[2,4]", "octet 4: expected ';' or ']'"),
    CODE_CASE("SingleDot", "127.0.0.[2.11]", "octet 4: expected \"..\" in a range, as in [2..11]"),
    CODE_CASE("OpenRange", "127.0.0.[2..]", "octet 4: expected a number 0-255 after \"..\""),
    CODE_CASE("ReversedRange", "127.0.0.[11..2]", "octet 4: range 11..2 is reversed"),
    CODE_CASE("RangeAbove255", "127.0.[0..300].1", "octet 3: 300 is above 255"),
    CODE_CASE("RangeOutsideBrackets", "127.0.0.2..11", FOUR_OCTETS),
};
#undef CODE_CASE
#undef FOUR_OCTETS
INSTANTIATE_TEST_SUITE_P(Codes, CheckConfigErrors, ::testing::ValuesIn(kCodes), caseName);

// A scratch directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("spamgate-checks-config-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    const auto file = path_ / name;
    std::ofstream(file) << text;
    return file.string();
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

TEST(CheckConfigLoad, ListFilesMustBeReadable) {
  TempDir dir;
  const std::string allow = dir.write("allow.cidr", "192.0.2.0/24\n");
  const std::string deny = dir.path("deny.cidr");  // does not exist yet
  const std::string text = "[lists]\nallow = [\"" + allow + "\"]\ndeny = [\n  \"" + allow +
                           "\",\n  \"" + deny + "\",\n]\n";
  const std::string path = dir.write("lists.toml", text);
  EXPECT_NO_THROW(parse(text, path));  // parse() never touches the files
  EXPECT_EQ(loadError(path),
            path + ":5: key 'lists.deny': cannot read \"" + deny + "\": No such file or directory");
  dir.write("deny.cidr", "198.51.100.7/32\n");
  const Snapshot c = load(path);
  EXPECT_EQ(c->lists.deny.size(), 2u);
}

TEST(CheckConfigLoad, ListFileMustBeAFile) {
  TempDir dir;
  const std::string path =
      dir.write("lists.toml", "\n[lists]\nallow = [\"" + dir.path("") + "\"]\n");
  EXPECT_EQ(loadError(path), path + ":3: key 'lists.allow': cannot read \"" + dir.path("") +
                                 "\": not a regular file");
}

TEST(CheckConfigLoad, DisabledListsAreNotOpened) {
  TempDir dir;
  const std::string path = dir.write(
      "lists.toml", "[lists]\nenabled = false\nallow = [\"" + dir.path("missing") + "\"]\n");
  const Snapshot c = load(path);
  EXPECT_FALSE(c->lists.enabled);
  ASSERT_EQ(c->lists.allow.size(), 1u);
}

TEST(CheckConfigLoad, TlsFilesAreCheckedBeforeLists) {
  TempDir dir;
  const std::string path = dir.write(
      "both.toml", "[lists]\nallow = [\"" + dir.path("a") + "\"]\n[tls]\ncertificate = \"" +
                       dir.path("c") + "\"\nprivate_key = \"" + dir.path("k") + "\"\n");
  EXPECT_EQ(loadError(path), path + ":4: key 'tls.certificate': cannot read \"" + dir.path("c") +
                                 "\": No such file or directory");
}

}  // namespace
}  // namespace spamgate::config
