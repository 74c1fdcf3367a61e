// SpfCheck (src/checks/spf.h) and the evaluator's async contract, over FakeDns: the check gets
// its DNS through the AuthDnsFactory seam (FakeDns::lend()) instead of a
// dns::Resolver, so each test writes its zone in a few lines. The no-resolver path uses the
// default factory.
#include <event2/event.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

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

}  // namespace
}  // namespace spamgate::checks
