// The openspf.org RFC 7208 test suite (rfc7208-tests.yml, release 2014.04) through
// auth::evaluateSpf: one test per suite test, named "<section>_<test>", over a FakeDns loaded
// with the scenario's zone. Zone semantics, as in the suite's reference driver (pyspf):
//   - an SPF record is also served as TXT when the name has no TXT entry; "TXT: NONE" stops it;
//   - a list of strings is one TXT record of several character-strings, concatenated;
//   - MX is [preference, exchange]; "TIMEOUT" alone times out every query of the name that the
//     entries before it do not answer; a CNAME is followed (loops end in SERVFAIL).
// A suite test passes when the outcome is one of its acceptable results. Known failures are
// listed below with their reason: such a test is reported as skipped while it still fails, and
// fails if it starts passing (then take it off the list). The rfc4408 suite runs as a report.
#include <event2/event.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "auth/spf.h"
#include "fake_dns.h"
#include "support/event_loop.h"

namespace spamgate::auth {
namespace {

// Suite tests that still fail, with the reason ("test name" -> why). None today: all 203 pass.
const std::map<std::string, std::string> kKnownFailures = {};

struct SuiteCase {
  std::string name;  // "<section>_<test>", for GoogleTest
  std::string file;
  std::size_t scenario = 0;  // index of the YAML document
  std::string test;
  std::string helo, host, mailfrom;
  std::set<std::string> results;
};

void PrintTo(const SuiteCase& c, std::ostream* os) {
  *os << c.test;
}

std::string testdata(const std::string& file) {
  return std::string(SPAMGATE_TESTDATA) + "/spf/" + file;
}

std::string identifier(const std::string& text) {
  std::string out;
  for (const char c : text) {
    out += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
  }
  return out;
}

std::vector<SuiteCase> loadCases(const std::string& file) {
  std::vector<SuiteCase> cases;
  if (!std::filesystem::exists(testdata(file))) return cases;
  const std::vector<YAML::Node> scenarios = YAML::LoadAllFromFile(testdata(file));
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const std::string section = identifier(scenarios[i]["description"].as<std::string>());
    for (const auto& entry : scenarios[i]["tests"]) {
      SuiteCase c;
      c.test = entry.first.as<std::string>();
      c.name = section + "_" + identifier(c.test);
      c.file = file;
      c.scenario = i;
      const YAML::Node& node = entry.second;
      c.helo = node["helo"].as<std::string>();
      c.host = node["host"].as<std::string>();
      c.mailfrom = node["mailfrom"].as<std::string>();
      if (node["result"].IsSequence()) {
        for (const auto& result : node["result"])
          c.results.insert(result.as<std::string>());
      } else {
        c.results.insert(node["result"].as<std::string>());
      }
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

// One name's entries, as the suite writes them.
struct ZoneName {
  std::vector<std::pair<std::string, std::string>> records;  // type, text form
  std::set<std::string> timeout_types;                       // "TXT: TIMEOUT"
  bool timeout = false;                                      // a bare TIMEOUT
  std::optional<std::string> cname;
};

std::string lower(std::string text) {
  for (char& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

std::string textOf(const YAML::Node& value) {
  if (!value.IsSequence()) return value.as<std::string>();
  std::string joined;
  for (const auto& part : value)
    joined += part.as<std::string>();
  return joined;
}

ZoneName parseName(const YAML::Node& entries) {
  ZoneName zone;
  bool has_txt = false;
  std::vector<std::string> spf;
  for (const auto& entry : entries) {
    if (entry.IsScalar()) {  // TIMEOUT
      zone.timeout = true;
      continue;
    }
    for (const auto& field : entry) {
      const std::string type = field.first.as<std::string>();
      const YAML::Node& value = field.second;
      if (type == "TXT") has_txt = true;
      if (value.IsScalar() && value.as<std::string>() == "NONE") continue;
      if (value.IsScalar() && value.as<std::string>() == "TIMEOUT") {
        zone.timeout_types.insert(type);
      } else if (type == "SPF") {
        spf.push_back(textOf(value));
      } else if (type == "MX") {
        zone.records.emplace_back(type,
                                  value[0].as<std::string>() + " " + value[1].as<std::string>());
      } else if (type == "CNAME") {
        zone.cname = lower(value.as<std::string>());
      } else {
        zone.records.emplace_back(type, type == "TXT" ? textOf(value) : value.as<std::string>());
      }
    }
  }
  if (!has_txt) {
    for (std::string& text : spf)
      zone.records.emplace_back("TXT", std::move(text));
  }
  return zone;
}

std::optional<dns::Type> typeNamed(const std::string& name) {
  static const std::map<std::string, dns::Type> kTypes = {{"A", dns::Type::A},
                                                          {"AAAA", dns::Type::AAAA},
                                                          {"MX", dns::Type::MX},
                                                          {"PTR", dns::Type::PTR},
                                                          {"TXT", dns::Type::TXT}};
  const auto found = kTypes.find(name);
  if (found == kTypes.end()) return std::nullopt;
  return found->second;
}

// Loads `zone` (the entries of the name it is served under, after following CNAMEs) as `name`.
void loadName(test::FakeDns& dns, const std::string& name, const ZoneName& zone) {
  std::set<dns::Type> answered;
  for (const auto& [type_name, text] : zone.records) {
    const std::optional<dns::Type> type = typeNamed(type_name);
    if (!type) continue;
    dns.add(name, *type, text);
    answered.insert(*type);
  }
  for (const dns::Type type :
       {dns::Type::A, dns::Type::AAAA, dns::Type::MX, dns::Type::PTR, dns::Type::TXT}) {
    const bool timed_out = zone.timeout_types.count(std::string(dns::typeName(type))) > 0;
    if (timed_out || (zone.timeout && answered.count(type) == 0)) {
      dns.fail(name, type, dns::Status::Timeout);
    }
  }
}

void loadZone(test::FakeDns& dns, const YAML::Node& zonedata) {
  std::map<std::string, ZoneName> zone;
  for (const auto& entry : zonedata)
    zone[lower(entry.first.as<std::string>())] = parseName(entry.second);
  for (const auto& [name, entries] : zone) {
    const ZoneName* target = &entries;
    std::set<std::string> seen{name};
    bool loop = false;
    while (target->cname) {
      const auto next = zone.find(*target->cname);
      if (next == zone.end()) break;
      if (!seen.insert(next->first).second) {
        loop = true;
        break;
      }
      target = &next->second;
    }
    if (loop) {
      for (const dns::Type type :
           {dns::Type::A, dns::Type::AAAA, dns::Type::MX, dns::Type::PTR, dns::Type::TXT}) {
        dns.fail(name, type, dns::Status::ServFail);
      }
      continue;
    }
    loadName(dns, name, *target);
  }
}

std::map<std::string, std::vector<YAML::Node>>& documents() {
  static std::map<std::string, std::vector<YAML::Node>> loaded;
  return loaded;
}

// Runs one suite test; the result name ("pass", "permerror", ...).
std::string runCase(const SuiteCase& c) {
  auto& docs = documents()[c.file];
  if (docs.empty()) docs = YAML::LoadAllFromFile(testdata(c.file));
  std::unique_ptr<event_base, decltype(&event_base_free)> base(event_base_new(), &event_base_free);
  test::FakeDns dns(base.get());
  dns.timeout_after = std::chrono::milliseconds(1);
  loadZone(dns, docs[c.scenario]["zonedata"]);
  std::optional<SpfOutcome> outcome;
  auto pending = evaluateSpf(dns, SpfRequest{c.host, c.helo, c.mailfrom, "receiver.example"},
                             [&](SpfOutcome result) { outcome = std::move(result); });
  if (!test::runUntil(base.get(), [&] { return outcome.has_value(); })) return "(no result)";
  return std::string(spfResultName(outcome->result)) + " [" + outcome->detail + "]";
}

bool accepted(const SuiteCase& c, const std::string& got) {
  return c.results.count(got.substr(0, got.find(' '))) > 0;
}

std::string expected(const SuiteCase& c) {
  std::string out;
  for (const std::string& result : c.results)
    out += (out.empty() ? "" : "|") + result;
  return out;
}

class Rfc7208Suite : public testing::TestWithParam<SuiteCase> {
 public:
  static void TearDownTestSuite() {
    std::cout << "[ rfc7208 ] " << passed_ << "/" << run_ << " suite tests passed" << std::endl;
  }

 protected:
  static inline int passed_ = 0;
  static inline int run_ = 0;
};

TEST_P(Rfc7208Suite, Evaluates) {
  const SuiteCase& c = GetParam();
  const std::string got = runCase(c);
  ++run_;
  const bool ok = accepted(c, got);
  passed_ += ok ? 1 : 0;
  const auto known = kKnownFailures.find(c.test);
  if (known != kKnownFailures.end()) {
    EXPECT_FALSE(ok) << c.test << " passes now: take it off kKnownFailures";
    if (!ok) GTEST_SKIP() << "known failure: " << known->second << " (got " << got << ")";
    return;
  }
  EXPECT_TRUE(ok) << c.test << ": expected " << expected(c) << ", got " << got;
}

std::vector<SuiteCase> rfc7208Cases() {
  return loadCases("rfc7208-tests.yml");
}

INSTANTIATE_TEST_SUITE_P(Suite, Rfc7208Suite, testing::ValuesIn(rfc7208Cases()),
                         [](const testing::TestParamInfo<SuiteCase>& param) {
                           return param.param.name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Rfc7208Suite);

TEST(Rfc7208SuiteData, IsPresent) {
  if (!std::filesystem::exists(testdata("rfc7208-tests.yml"))) {
    GTEST_SKIP() << "no " << testdata("rfc7208-tests.yml") << ": the suite did not run";
  }
  EXPECT_EQ(rfc7208Cases().size(), 203U);
}

// The older RFC 4408 suite, as one test: every failure is printed; all pass today.
TEST(Rfc4408Suite, Report) {
  const std::vector<SuiteCase> cases = loadCases("rfc4408-tests.yml");
  if (cases.empty()) GTEST_SKIP() << "no " << testdata("rfc4408-tests.yml");
  int passed = 0;
  for (const SuiteCase& c : cases) {
    const std::string got = runCase(c);
    if (accepted(c, got)) {
      ++passed;
    } else {
      std::cout << "[ rfc4408 ] " << c.name << ": expected " << expected(c) << ", got " << got
                << "\n";
    }
  }
  std::cout << "[ rfc4408 ] " << passed << "/" << cases.size() << " suite tests passed"
            << std::endl;
  EXPECT_EQ(passed, static_cast<int>(cases.size()));
}

}  // namespace
}  // namespace spamgate::auth
