// SpfCheck (src/checks/spf.h) and the evaluator's async contract, over FakeDns: the check gets
// its DNS through the AuthDnsFactory seam (FakeDns::lend()) instead of a
// dns::Resolver, so each test writes its zone in a few lines. The no-resolver path uses the
// default factory.
#include <event2/event.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/spf.h"
#include "checks/spf.h"
#include "fake_dns.h"
#include "support/event_loop.h"

namespace spamgate::checks {
namespace {

using pipeline::CheckResult;
using pipeline::Stage;

class SpfCheckTest : public testing::Test {
 protected:
  SpfCheckTest() : base_(event_base_new(), &event_base_free), dns_(base_.get()) {
    dns_.timeout_after = std::chrono::milliseconds(5);
    dns_.add("example.com", dns::Type::TXT, "v=spf1 ip4:192.0.2.1 -all");
    dns_.add("example.com", dns::Type::TXT, "an unrelated TXT record");
    dns_.add("soft.example", dns::Type::TXT, "v=spf1 a:mail.soft.example ~all");
    dns_.add("mail.soft.example", dns::Type::A, "192.0.2.7");
    dns_.add("broken.example", dns::Type::TXT, "v=spf1 ip4:192.0.2.1 frobnicate -all");
    dns_.fail("slow.example", dns::Type::TXT, dns::Status::Timeout);
    dns_.add("helo.example.net", dns::Type::TXT, "v=spf1 ip4:192.0.2.1 -all");
    context_.client_ip = "192.0.2.1";
    context_.helo = "helo.example.net";
    context_.hostname = "mx.receiver.test";
    context_.facts = &facts_;
    context_.mail = &mail_;
  }

  SpfCheck check(config::Spf settings) {
    return SpfCheck(settings, [this](const pipeline::Context&) { return dns_.lend(); });
  }

  // Runs `stage` of `spf` to completion.
  CheckResult run(SpfCheck& spf, Stage stage) {
    std::optional<CheckResult> result;
    auto pending = spf.start(stage, context_, [&](CheckResult r) { result = std::move(r); });
    EXPECT_TRUE(test::runUntil(base_.get(), [&] { return result.has_value(); }));
    return result.value_or(CheckResult{});
  }

  std::unique_ptr<event_base, decltype(&event_base_free)> base_;
  test::FakeDns dns_;
  pipeline::SessionFacts facts_;
  smtp::MailArgs mail_;
  pipeline::Context context_;
};

TEST_F(SpfCheckTest, FailRejectsAtMailWithRfc7372Code) {
  mail_.reverse_path = "user@example.com";
  context_.client_ip = "198.51.100.9";
  SpfCheck spf = check(config::Spf{});
  const CheckResult result = run(spf, Stage::Mail);
  ASSERT_EQ(result.symbols.size(), 1U);
  EXPECT_EQ(result.symbols[0].name, "SPF_FAIL");
  EXPECT_EQ(result.symbols[0].score, config::Spf{}.fail_score);
  EXPECT_NE(result.symbols[0].detail.find("example.com"), std::string::npos);
  EXPECT_NE(result.symbols[0].detail.find("198.51.100.9"), std::string::npos);
  ASSERT_TRUE(result.opinion);
  EXPECT_EQ(result.opinion->action, policy::Action::Reject);
  EXPECT_EQ(result.opinion->reply.code, 550);
  EXPECT_EQ(result.opinion->reply.enhanced, "5.7.23");
  EXPECT_EQ(result.opinion->reply.text, "SPF check failed for example.com");
  ASSERT_TRUE(facts_.auth.spf);
  EXPECT_EQ(facts_.auth.spf->result, auth::SpfResult::Fail);
  EXPECT_EQ(facts_.auth.spf->domain, "example.com");
  EXPECT_EQ(facts_.auth.spf->identity, "user@example.com");
  EXPECT_FALSE(facts_.auth.spf->helo_identity);
}

TEST_F(SpfCheckTest, PassGivesSymbolOnly) {
  mail_.reverse_path = "user@example.com";
  SpfCheck spf = check(config::Spf{});
  const CheckResult result = run(spf, Stage::Mail);
  ASSERT_EQ(result.symbols.size(), 1U);
  EXPECT_EQ(result.symbols[0].name, "SPF_PASS");
  EXPECT_FALSE(result.opinion);
  EXPECT_EQ(facts_.auth.spf->result, auth::SpfResult::Pass);
}

TEST_F(SpfCheckTest, SoftfailThroughAnAddressLookup) {
  mail_.reverse_path = "user@soft.example";
  context_.client_ip = "192.0.2.8";
  SpfCheck spf = check(config::Spf{});
  CheckResult result = run(spf, Stage::Mail);
  ASSERT_EQ(result.symbols.size(), 1U);
  EXPECT_EQ(result.symbols[0].name, "SPF_SOFTFAIL");
  EXPECT_FALSE(result.opinion);
  context_.client_ip = "192.0.2.7";
  result = run(spf, Stage::Mail);
  EXPECT_EQ(result.symbols.at(0).name, "SPF_PASS");
}

TEST_F(SpfCheckTest, AllowlistedClientGetsNoOpinion) {
  mail_.reverse_path = "user@example.com";
  context_.client_ip = "198.51.100.9";
  facts_.allowlisted = true;
  SpfCheck spf = check(config::Spf{});
  const CheckResult result = run(spf, Stage::Mail);
  EXPECT_EQ(result.symbols.at(0).name, "SPF_FAIL");
  EXPECT_FALSE(result.opinion);
}

TEST_F(SpfCheckTest, RejectAtRcptMovesTheOpinion) {
  mail_.reverse_path = "user@example.com";
  context_.client_ip = "198.51.100.9";
  config::Spf settings;
  settings.reject_at = config::SpfRejectAt::Rcpt;
  SpfCheck spf = check(settings);
  EXPECT_TRUE(spf.runsAt(Stage::Rcpt));
  const CheckResult at_mail = run(spf, Stage::Mail);
  EXPECT_EQ(at_mail.symbols.at(0).name, "SPF_FAIL");
  EXPECT_FALSE(at_mail.opinion);
  std::optional<CheckResult> at_rcpt;
  auto pending = spf.start(Stage::Rcpt, context_, [&](CheckResult r) { at_rcpt = std::move(r); });
  ASSERT_TRUE(at_rcpt);  // inline, from the facts
  EXPECT_TRUE(at_rcpt->symbols.empty());
  ASSERT_TRUE(at_rcpt->opinion);
  EXPECT_EQ(at_rcpt->opinion->reply.code, 550);
}

TEST_F(SpfCheckTest, RunsAtMailOnlyByDefault) {
  SpfCheck spf = check(config::Spf{});
  EXPECT_TRUE(spf.runsAt(Stage::Mail));
  EXPECT_FALSE(spf.runsAt(Stage::Rcpt));
  EXPECT_FALSE(spf.runsAt(Stage::EndOfData));
}

TEST_F(SpfCheckTest, TemperrorTempfailsUnlessConfiguredNot) {
  mail_.reverse_path = "user@slow.example";
  SpfCheck spf = check(config::Spf{});
  CheckResult result = run(spf, Stage::Mail);
  EXPECT_EQ(result.symbols.at(0).name, "SPF_TEMPERROR");
  ASSERT_TRUE(result.opinion);
  EXPECT_EQ(result.opinion->action, policy::Action::Tempfail);
  EXPECT_EQ(result.opinion->reply.code, 451);
  EXPECT_EQ(result.opinion->reply.enhanced, "4.4.3");
  config::Spf lenient;
  lenient.tempfail_on_error = false;
  SpfCheck quiet = check(lenient);
  result = run(quiet, Stage::Mail);
  EXPECT_EQ(result.symbols.at(0).name, "SPF_TEMPERROR");
  EXPECT_FALSE(result.opinion);
}

TEST_F(SpfCheckTest, PermerrorScoresOrRejects) {
  mail_.reverse_path = "user@broken.example";
  SpfCheck scoring = check(config::Spf{});
  CheckResult result = run(scoring, Stage::Mail);
  EXPECT_EQ(result.symbols.at(0).name, "SPF_PERMERROR");
  EXPECT_EQ(result.symbols.at(0).score, config::Spf{}.permerror_score);
  EXPECT_FALSE(result.opinion);
  config::Spf strict;
  strict.permerror_action = config::FailAction::Reject;
  SpfCheck rejecting = check(strict);
  result = run(rejecting, Stage::Mail);
  ASSERT_TRUE(result.opinion);
  EXPECT_EQ(result.opinion->reply.enhanced, "5.7.24");
}

TEST_F(SpfCheckTest, NullSenderChecksTheHeloName) {
  mail_.reverse_path = "";
  SpfCheck spf = check(config::Spf{});
  const CheckResult result = run(spf, Stage::Mail);
  EXPECT_EQ(result.symbols.at(0).name, "SPF_PASS");
  ASSERT_TRUE(facts_.auth.spf);
  EXPECT_TRUE(facts_.auth.spf->helo_identity);
  EXPECT_EQ(facts_.auth.spf->identity, "postmaster@helo.example.net");
  EXPECT_EQ(facts_.auth.spf->domain, "helo.example.net");
}

TEST_F(SpfCheckTest, NoResolverIsATemperror) {
  mail_.reverse_path = "user@example.com";
  SpfCheck spf{config::Spf{}};  // the default source needs Context::resolver
  std::optional<CheckResult> result;
  auto pending = spf.start(Stage::Mail, context_, [&](CheckResult r) { result = std::move(r); });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->symbols.at(0).name, "SPF_TEMPERROR");
  EXPECT_EQ(result->symbols.at(0).detail, "no resolver");
  ASSERT_TRUE(result->opinion);
  EXPECT_EQ(result->opinion->action, policy::Action::Tempfail);
}

TEST_F(SpfCheckTest, DestroyingTheHandleCancels) {
  mail_.reverse_path = "user@example.com";
  SpfCheck spf = check(config::Spf{});
  bool called = false;
  auto pending = spf.start(Stage::Mail, context_, [&](CheckResult) { called = true; });
  ASSERT_NE(pending, nullptr);
  EXPECT_FALSE(called);  // never inline
  pending.reset();
  test::runFor(base_.get(), std::chrono::milliseconds(30));
  EXPECT_FALSE(called);
  EXPECT_FALSE(facts_.auth.spf);
}

// The evaluator re-runs libspf2 as answers arrive: an include chain needs several rounds, and
// each question is asked once.
TEST_F(SpfCheckTest, EvaluatorAsksEachQuestionOnce) {
  dns_.add("chain.example", dns::Type::TXT, "v=spf1 include:one.chain.example -all");
  dns_.add("one.chain.example", dns::Type::TXT, "v=spf1 include:two.chain.example -all");
  dns_.add("two.chain.example", dns::Type::TXT, "v=spf1 a:host.chain.example -all");
  dns_.add("host.chain.example", dns::Type::A, "192.0.2.1");
  std::optional<auth::SpfOutcome> outcome;
  auto pending = auth::evaluateSpf(
      dns_, auth::SpfRequest{"192.0.2.1", "helo.example.net", "a@chain.example", "mx.test"},
      [&](auth::SpfOutcome o) { outcome = std::move(o); });
  EXPECT_FALSE(outcome);
  ASSERT_TRUE(test::runUntil(base_.get(), [&] { return outcome.has_value(); }));
  EXPECT_EQ(outcome->result, auth::SpfResult::Pass);
  const std::vector<std::string> expected = {"chain.example TXT", "one.chain.example TXT",
                                             "two.chain.example TXT", "host.chain.example A"};
  EXPECT_EQ(dns_.queries(), expected);
}

// RFC 7208 4.6.4: the void lookup limit counts the terms whose own lookup finds nothing, not
// the address lookups of MX hosts or PTR names (libspf2 asks only the client's family for them).
class SpfVoidLookupTest : public SpfCheckTest {
 protected:
  auth::SpfOutcome evaluate(const std::string& client_ip, const std::string& mail_from) {
    std::optional<auth::SpfOutcome> outcome;
    auto pending =
        auth::evaluateSpf(dns_, auth::SpfRequest{client_ip, "helo.test", mail_from, "mx.test"},
                          [&](auth::SpfOutcome o) { outcome = std::move(o); });
    EXPECT_TRUE(test::runUntil(base_.get(), [&] { return outcome.has_value(); }));
    return outcome.value_or(auth::SpfOutcome{});
  }

  // `domain` publishes "v=spf1 mx -all" (after `extra` terms) with `hosts` MX hosts, each
  // with an address of `family` only.
  void addMxDomain(const std::string& domain, const std::string& extra, int hosts, dns::Type family,
                   const std::string& address) {
    dns_.add(domain, dns::Type::TXT, "v=spf1 " + extra + "mx -all");
    for (int i = 1; i <= hosts; ++i) {
      const std::string host = "mx" + std::to_string(i) + "." + domain;
      dns_.add(domain, dns::Type::MX, std::to_string(i * 10) + " " + host);
      dns_.add(host, family, address);
    }
  }
};

TEST_F(SpfVoidLookupTest, Ipv6ClientAndMxHostsWithOnlyIpv4AddressesFails) {
  addMxDomain("v4hosts.example", "", 3, dns::Type::A, "192.0.2.10");
  const auth::SpfOutcome outcome = evaluate("2001:db8::9", "user@v4hosts.example");
  EXPECT_EQ(outcome.result, auth::SpfResult::Fail) << outcome.detail;
  const std::vector<std::string> aaaa = {"mx1.v4hosts.example AAAA", "mx2.v4hosts.example AAAA",
                                         "mx3.v4hosts.example AAAA"};
  for (const std::string& query : aaaa) {
    EXPECT_NE(std::find(dns_.queries().begin(), dns_.queries().end(), query), dns_.queries().end())
        << query;
  }
}

TEST_F(SpfVoidLookupTest, Ipv6ClientPassesOnTheFourthMxHost) {
  addMxDomain("late.example", "", 3, dns::Type::A, "192.0.2.10");
  dns_.add("late.example", dns::Type::MX, "40 mx4.late.example");
  dns_.add("mx4.late.example", dns::Type::AAAA, "2001:db8::9");
  EXPECT_EQ(evaluate("2001:db8::9", "user@late.example").result, auth::SpfResult::Pass);
  EXPECT_EQ(evaluate("2001:db8::8", "user@late.example").result, auth::SpfResult::Fail);
}

TEST_F(SpfVoidLookupTest, Ipv4ClientAndMxHostsWithOnlyIpv6AddressesFails) {
  addMxDomain("v6hosts.example", "", 3, dns::Type::AAAA, "2001:db8::10");
  const auth::SpfOutcome outcome = evaluate("192.0.2.9", "user@v6hosts.example");
  EXPECT_EQ(outcome.result, auth::SpfResult::Fail) << outcome.detail;
}

// Two void terms, at the limit, and then MX hosts that have no address of the client's family.
TEST_F(SpfVoidLookupTest, TwoVoidTermsAndAddresslessMxHostsFails) {
  addMxDomain("mixed.example", "a:gone1.mixed.example a:gone2.mixed.example ", 3, dns::Type::A,
              "192.0.2.10");
  const auth::SpfOutcome outcome = evaluate("2001:db8::9", "user@mixed.example");
  EXPECT_EQ(outcome.result, auth::SpfResult::Fail) << outcome.detail;
}

TEST_F(SpfVoidLookupTest, PtrNamesWithoutTheClientFamilyAreNotVoid) {
  dns_.add("ptr.example", dns::Type::TXT, "v=spf1 ptr -all");
  dns_.add("9.2.0.192.in-addr.arpa", dns::Type::PTR, "h1.ptr.example");
  dns_.add("9.2.0.192.in-addr.arpa", dns::Type::PTR, "h2.ptr.example");
  dns_.add("9.2.0.192.in-addr.arpa", dns::Type::PTR, "h3.ptr.example");
  for (const char* host : {"h1.ptr.example", "h2.ptr.example", "h3.ptr.example"}) {
    dns_.add(host, dns::Type::AAAA, "2001:db8::10");
  }
  const auth::SpfOutcome outcome = evaluate("192.0.2.9", "user@ptr.example");
  EXPECT_EQ(outcome.result, auth::SpfResult::Fail) << outcome.detail;
}

// The limit itself (RFC 7208 4.6.4, the suite's void-over-limit): three terms whose own lookup
// finds nothing, NXDOMAIN or no answer, are a permerror even when a later term would match.
TEST_F(SpfVoidLookupTest, ThreeVoidTermLookupsArePermerror) {
  dns_.add("three.example", dns::Type::TXT,
           "v=spf1 a:nx.three.example mx:nodata.three.example exists:nx2.three.example "
           "ip4:192.0.2.9 -all");
  dns_.add("nodata.three.example", dns::Type::A, "192.0.2.99");  // exists, but has no MX
  const auth::SpfOutcome outcome = evaluate("192.0.2.9", "user@three.example");
  EXPECT_EQ(outcome.result, auth::SpfResult::PermError);
  EXPECT_NE(outcome.detail.find("void lookups"), std::string::npos) << outcome.detail;
  dns_.add("nx2.three.example", dns::Type::A, "127.0.0.2");  // now only two void terms
  EXPECT_EQ(evaluate("192.0.2.8", "user@three.example").result, auth::SpfResult::Pass);
}

// libspf2 aborts on its internal errors (SPF_errorx calls abort() after any handler), so
// hostile records and local parts must never reach one: macro expansion of 8-bit, delimiter-only
// and over-long local parts with reversal, truncation and URL-encoding ends in a result.
TEST_F(SpfVoidLookupTest, HostileMacrosAndLocalPartsEndInAResult) {
  const std::vector<std::string> records = {
      "v=spf1 exists:%{L}.hostile.example -all",
      "v=spf1 exists:%{lr-}.hostile.example -all",
      "v=spf1 exists:%{l1r-+=_}.hostile.example -all",
      "v=spf1 exists:%{L2r.-}.%{Sr}.hostile.example -all",
      "v=spf1 exists:%{l99999999999r}.hostile.example -all",
      "v=spf1 exists:%{p}.%{pr-}.%{l}%{l}%{l}%{l}%{l}.hostile.example -all",
      "v=spf1 a:%{l}.%{l}.%{l}.%{l}.%{l}.hostile.example mx:%{Lr}.hostile.example -all"};
  const std::vector<std::string> local_parts = {"-",
                                                "..",
                                                ".-.",
                                                "\xc3\xa9t\xe9",
                                                "\xff\xfe.\x80",
                                                std::string(64, 'x'),
                                                std::string(63, '-') + "a",
                                                "a+b=c_d|e"};
  int n = 0;
  for (const std::string& record : records) {
    const std::string domain = "h" + std::to_string(++n) + ".example";
    dns_.add(domain, dns::Type::TXT, record);
    for (const std::string& local : local_parts) {
      const auth::SpfOutcome outcome = evaluate("192.0.2.9", local + "@" + domain);
      EXPECT_TRUE(outcome.result == auth::SpfResult::Fail ||
                  outcome.result == auth::SpfResult::PermError)
          << record << " / " << local << ": " << outcome.detail;
    }
  }
}

// URL-encoding (%{L}) of 8-bit bytes: one "%xx" per byte (libspf2 before Debian's
// "Sanity check for sprintf" wrote "%ffffffc3", past its buffer: CVE-2021-33912).
TEST_F(SpfVoidLookupTest, UrlEncodedLocalPartIsOneEscapePerByte) {
  dns_.add("hostile.example", dns::Type::TXT, "v=spf1 exists:%{L}.hostile.example -all");
  EXPECT_EQ(evaluate("192.0.2.9", "\xc3\xa9t@hostile.example").result, auth::SpfResult::Fail);
  EXPECT_NE(std::find(dns_.queries().begin(), dns_.queries().end(), "%c3%a9t.hostile.example A"),
            dns_.queries().end());
}

}  // namespace
}  // namespace spamgate::checks
