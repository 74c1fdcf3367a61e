// DmarcCheck (checks/dmarc.h) over FakeDns through its DnsSource seam: From trouble, every
// result's symbol and score, the opinions by policy and reject_action, pct stepping down,
// allow-listed clients, the facts it leaves, cancellation.
#include <event2/event.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>

#include "checks/dmarc.h"
#include "fake_dns.h"
#include "support/event_loop.h"

namespace spamgate::checks {
namespace {

using dns::Type;
using pipeline::CheckResult;

class DmarcCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists("/usr/share/publicsuffix")) {
      GTEST_SKIP() << "no public suffix list in /usr/share/publicsuffix (package publicsuffix)";
    }
    dns_.add("_dmarc.reject.test", Type::TXT, "v=DMARC1; p=reject");
    dns_.add("_dmarc.quarantine.test", Type::TXT, "v=DMARC1; p=quarantine");
    dns_.add("_dmarc.none.test", Type::TXT, "v=DMARC1; p=none");
    dns_.add("_dmarc.half.test", Type::TXT, "v=DMARC1; p=reject; pct=50");
    dns_.add("_dmarc.broken.test", Type::TXT, "v=DMARC1; p=maybe");
    dns_.fail("_dmarc.down.test", Type::TXT, dns::Status::ServFail);
    settings_.reject_score = 10;
    settings_.quarantine_score = 5;
    settings_.none_fail_score = 1;
    settings_.missing_from_score = 3;
    settings_.multiple_from_score = 4;
  }
  void TearDown() override { event_base_free(base_); }

  DmarcServices services() {
    return DmarcServices{[this](const pipeline::Context&) -> std::unique_ptr<auth::DnsSource> {
                           return dns_.lend();
                         },
                         [this] { return roll_; }};
  }

  CheckResult run(const std::string& headers) {
    message_ = headers + "\r\nbody\r\n";
    pipeline::Context context;
    context.message = &message_;
    context.facts = &facts_;
    DmarcCheck check(settings_, services());
    std::optional<CheckResult> result;
    auto pending = check.start(pipeline::Stage::EndOfData, context,
                               [&](CheckResult r) { result = std::move(r); });
    EXPECT_TRUE(test::runUntil(base_, [&] { return result.has_value(); }));
    return result.value_or(CheckResult{});
  }

  static std::string only(const CheckResult& result) {
    return result.symbols.size() == 1 ? result.symbols[0].name
                                      : "(symbols: " + std::to_string(result.symbols.size()) + ")";
  }

  event_base* base_ = event_base_new();
  test::FakeDns dns_{base_};
  config::Dmarc settings_;
  pipeline::SessionFacts facts_;
  std::string message_;
  unsigned roll_ = 0;
};

TEST_F(DmarcCheckTest, Identity) {
  DmarcCheck check(settings_);
  EXPECT_EQ(check.name(), "dmarc");
  EXPECT_EQ(check.order(), 1);
  EXPECT_TRUE(check.runsAt(pipeline::Stage::EndOfData));
  EXPECT_FALSE(check.runsAt(pipeline::Stage::Data));
  settings_.enabled = false;
  EXPECT_FALSE(DmarcCheck(settings_).runsAt(pipeline::Stage::EndOfData));
}

TEST_F(DmarcCheckTest, FromTroubleStopsBeforeAnyLookup) {
  CheckResult r = run("Subject: x\r\n");
  EXPECT_EQ(only(r), "FROM_MISSING");
  EXPECT_EQ(r.symbols[0].score, 3);
  r = run("From: a@reject.test\r\nFrom: b@reject.test\r\n");
  EXPECT_EQ(only(r), "FROM_MULTIPLE");
  EXPECT_EQ(r.symbols[0].score, 4);
  EXPECT_EQ(r.symbols[0].detail, "2 From fields");
  r = run("From: a@reject.test, b@none.test\r\n");
  EXPECT_EQ(only(r), "FROM_MULTIPLE");
  r = run("From: Not An Address\r\n");
  EXPECT_EQ(only(r), "FROM_INVALID");
  EXPECT_EQ(r.symbols[0].score, 3);
  EXPECT_FALSE(r.opinion.has_value());
  EXPECT_FALSE(facts_.auth.dmarc.has_value());
  EXPECT_TRUE(dns_.queries().empty());
}

TEST_F(DmarcCheckTest, PassFromAlignedSpf) {
  facts_.auth.spf = auth::SpfOutcome{auth::SpfResult::Pass, false, "b@bounce.reject.test",
                                     "bounce.reject.test", ""};
  const CheckResult r = run("From: Ann <ann@reject.test>\r\n");
  EXPECT_EQ(only(r), "DMARC_PASS");
  EXPECT_EQ(r.symbols[0].score, 0);
  EXPECT_FALSE(r.opinion.has_value());
  ASSERT_TRUE(facts_.auth.dmarc.has_value());
  EXPECT_EQ(facts_.auth.dmarc->result, auth::DmarcResult::Pass);
  EXPECT_TRUE(facts_.auth.dmarc->spf_aligned);
}

TEST_F(DmarcCheckTest, RejectPolicyRejects) {
  facts_.auth.dkim.push_back(
      auth::DkimSignatureOutcome{auth::DkimResult::Pass, "other.test", "s", "", "", "", ""});
  const CheckResult r = run("From: ann@reject.test\r\n");
  EXPECT_EQ(only(r), "DMARC_FAIL_REJECT");
  EXPECT_EQ(r.symbols[0].score, 0);
  EXPECT_NE(r.symbols[0].detail.find("from=reject.test; _dmarc.reject.test p=reject"),
            std::string::npos)
      << r.symbols[0].detail;
  EXPECT_NE(r.symbols[0].detail.find("dkim pass d=other.test not aligned"), std::string::npos);
  ASSERT_TRUE(r.opinion.has_value());
  EXPECT_EQ(r.opinion->action, policy::Action::Reject);
  EXPECT_EQ(r.opinion->reply.summary(), "550 5.7.1 Rejected by DMARC policy for reject.test");
  EXPECT_EQ(r.opinion->reason, "dmarc: DMARC_FAIL_REJECT");
  EXPECT_EQ(facts_.auth.dmarc->result, auth::DmarcResult::Fail);
}

TEST_F(DmarcCheckTest, RejectPolicyScoresWhenConfigured) {
  settings_.reject_action = config::FailAction::Score;
  const CheckResult r = run("From: ann@sub.reject.test\r\n");
  EXPECT_EQ(only(r), "DMARC_FAIL_REJECT");
  EXPECT_EQ(r.symbols[0].score, 10);
  EXPECT_FALSE(r.opinion.has_value());
}

TEST_F(DmarcCheckTest, QuarantineTagsAndNoneScores) {
  CheckResult r = run("From: ann@quarantine.test\r\n");
  EXPECT_EQ(only(r), "DMARC_FAIL_QUARANTINE");
  EXPECT_EQ(r.symbols[0].score, 5);
  ASSERT_TRUE(r.opinion.has_value());
  EXPECT_EQ(r.opinion->action, policy::Action::Tag);
  r = run("From: ann@none.test\r\n");
  EXPECT_EQ(only(r), "DMARC_FAIL_NONE");
  EXPECT_EQ(r.symbols[0].score, 1);
  EXPECT_FALSE(r.opinion.has_value());
}

TEST_F(DmarcCheckTest, PctSampledOutStepsDown) {
  roll_ = 49;
  CheckResult r = run("From: ann@half.test\r\n");
  EXPECT_EQ(only(r), "DMARC_FAIL_REJECT");
  EXPECT_TRUE(r.opinion.has_value());
  roll_ = 50;
  r = run("From: ann@half.test\r\n");
  EXPECT_EQ(only(r), "DMARC_FAIL_QUARANTINE");
  ASSERT_TRUE(r.opinion.has_value());
  EXPECT_EQ(r.opinion->action, policy::Action::Tag);
  EXPECT_TRUE(facts_.auth.dmarc->sampled_out);
}

TEST_F(DmarcCheckTest, NoPolicyTempAndPermErrors) {
  CheckResult r = run("From: ann@nothing.test\r\n");
  EXPECT_EQ(only(r), "DMARC_NONE");
  r = run("From: ann@down.test\r\n");
  EXPECT_EQ(only(r), "DMARC_TEMPERROR");
  EXPECT_EQ(r.symbols[0].detail, "from=down.test; _dmarc.down.test: servfail");
  ASSERT_TRUE(r.opinion.has_value()) << "a failed lookup defers by default";
  EXPECT_EQ(r.opinion->action, policy::Action::Tempfail);
  EXPECT_EQ(r.opinion->reply.code, 451);
  EXPECT_EQ(r.opinion->reply.enhanced, "4.4.3");
  settings_.tempfail_on_error = false;
  r = run("From: ann@down.test\r\n");
  EXPECT_EQ(only(r), "DMARC_TEMPERROR");
  EXPECT_FALSE(r.opinion.has_value());
  r = run("From: ann@broken.test\r\n");
  EXPECT_EQ(only(r), "DMARC_PERMERROR");
  EXPECT_EQ(facts_.auth.dmarc->result, auth::DmarcResult::PermError);
}

TEST_F(DmarcCheckTest, AllowlistedClientsGetSymbolsOnly) {
  facts_.allowlisted = true;
  CheckResult r = run("From: ann@reject.test\r\n");
  EXPECT_EQ(only(r), "DMARC_FAIL_REJECT");
  EXPECT_FALSE(r.opinion.has_value());
  r = run("From: ann@quarantine.test\r\n");
  EXPECT_EQ(only(r), "DMARC_FAIL_QUARANTINE");
  EXPECT_FALSE(r.opinion.has_value());
}

TEST_F(DmarcCheckTest, NoResolverIsTemperrorInline) {
  message_ = "From: ann@reject.test\r\n\r\n";
  pipeline::Context context;
  context.message = &message_;
  context.facts = &facts_;
  std::optional<CheckResult> result;
  auto pending = DmarcCheck(settings_).start(pipeline::Stage::EndOfData, context,
                                             [&](CheckResult r) { result = std::move(r); });
  EXPECT_EQ(pending, nullptr);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(only(*result), "DMARC_TEMPERROR");
  EXPECT_EQ(facts_.auth.dmarc->result, auth::DmarcResult::TempError);
}

TEST_F(DmarcCheckTest, CancelledCheckNeverAnswers) {
  message_ = "From: ann@reject.test\r\n\r\n";
  pipeline::Context context;
  context.message = &message_;
  context.facts = &facts_;
  DmarcCheck check(settings_, services());
  bool called = false;
  auto pending =
      check.start(pipeline::Stage::EndOfData, context, [&](CheckResult) { called = true; });
  ASSERT_NE(pending, nullptr);
  pending.reset();
  test::runFor(base_, std::chrono::milliseconds(30));
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace spamgate::checks
