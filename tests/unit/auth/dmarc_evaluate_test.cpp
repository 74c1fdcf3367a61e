// DMARC policy discovery and evaluation (auth/dmarc.h) over FakeDns: fallback to the
// organizational domain, multiple records, DNS trouble, alignment modes, pct sampling with an
// injected roll, cancellation.
#include <event2/event.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>

#include "auth/dmarc.h"
#include "fake_dns.h"
#include "support/event_loop.h"

namespace spamgate::auth {
namespace {

using dns::Type;
using test::FakeDns;

SpfOutcome spfPass(const std::string& domain) {
  SpfOutcome spf;
  spf.result = SpfResult::Pass;
  spf.identity = "bounce@" + domain;
  spf.domain = domain;
  return spf;
}

DkimSignatureOutcome dkim(const std::string& domain, DkimResult result = DkimResult::Pass) {
  DkimSignatureOutcome sig;
  sig.result = result;
  sig.domain = domain;
  sig.selector = "s1";
  return sig;
}

class DmarcEvaluate : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists("/usr/share/publicsuffix")) {
      GTEST_SKIP() << "no public suffix list in /usr/share/publicsuffix (package publicsuffix)";
    }
  }
  void TearDown() override { event_base_free(base_); }

  DmarcOutcome run(DmarcInput input) {
    std::optional<DmarcOutcome> outcome;
    auto pending = evaluateDmarc(dns_, std::move(input), [&](DmarcOutcome o) { outcome = o; });
    EXPECT_FALSE(outcome.has_value()) << "answered inline";
    EXPECT_TRUE(test::runUntil(base_, [&] { return outcome.has_value(); }));
    return outcome.value_or(DmarcOutcome{});
  }

  static DmarcInput input(std::string from, std::optional<SpfOutcome> spf = std::nullopt,
                          std::vector<DkimSignatureOutcome> sigs = {}) {
    return DmarcInput{std::move(from), std::move(spf), std::move(sigs), [] { return 50u; }};
  }

  event_base* base_ = event_base_new();
  FakeDns dns_{base_};
};

TEST_F(DmarcEvaluate, RecordAtTheFromDomain) {
  dns_.add("_dmarc.example.com", Type::TXT, "v=DMARC1; p=reject");
  const DmarcOutcome o = run(input("example.com", spfPass("example.com")));
  EXPECT_EQ(o.result, DmarcResult::Pass);
  EXPECT_EQ(o.from_domain, "example.com");
  EXPECT_EQ(o.policy_domain, "example.com");
  EXPECT_EQ(o.policy, DmarcPolicy::Reject);
  EXPECT_TRUE(o.spf_aligned);
  EXPECT_FALSE(o.dkim_aligned);
  EXPECT_EQ(dns_.queries(), std::vector<std::string>{"_dmarc.example.com TXT"});
}

TEST_F(DmarcEvaluate, FallsBackToTheOrganizationalDomainAndAppliesSp) {
  dns_.add("_dmarc.example.co.uk", Type::TXT, "v=DMARC1; p=reject; sp=quarantine");
  dns_.add("_dmarc.mail.example.co.uk", Type::TXT, "some other TXT record");
  const DmarcOutcome o = run(input("Mail.Example.co.uk", spfPass("other.test")));
  EXPECT_EQ(o.result, DmarcResult::Fail);
  EXPECT_EQ(o.from_domain, "mail.example.co.uk");
  EXPECT_EQ(o.policy_domain, "example.co.uk");
  EXPECT_EQ(o.policy, DmarcPolicy::Quarantine);
  EXPECT_EQ(dns_.queries(), (std::vector<std::string>{"_dmarc.mail.example.co.uk TXT",
                                                      "_dmarc.example.co.uk TXT"}));
  EXPECT_NE(o.detail.find("spf pass other.test not aligned"), std::string::npos) << o.detail;
}

TEST_F(DmarcEvaluate, OrganizationalRecordWithoutSpUsesP) {
  dns_.add("_dmarc.example.com", Type::TXT, "v=DMARC1; p=reject");
  const DmarcOutcome o = run(input("a.b.example.com"));
  EXPECT_EQ(o.result, DmarcResult::Fail);
  EXPECT_EQ(o.policy, DmarcPolicy::Reject);
  EXPECT_EQ(o.policy_domain, "example.com");
}

TEST_F(DmarcEvaluate, SubdomainOwnRecordUsesItsP) {
  dns_.add("_dmarc.sub.example.com", Type::TXT, "v=DMARC1; p=none; sp=reject");
  dns_.add("_dmarc.example.com", Type::TXT, "v=DMARC1; p=reject");
  const DmarcOutcome o = run(input("sub.example.com"));
  EXPECT_EQ(o.policy, DmarcPolicy::None);
  EXPECT_EQ(o.policy_domain, "sub.example.com");
  EXPECT_EQ(dns_.queries().size(), 1u);
}

TEST_F(DmarcEvaluate, NoRecordAnywhere) {
  const DmarcOutcome o = run(input("mail.example.com"));
  EXPECT_EQ(o.result, DmarcResult::None);
  EXPECT_EQ(o.policy_domain, "");
  EXPECT_EQ(dns_.queries().size(), 2u);
}

TEST_F(DmarcEvaluate, NoFallbackForAnOrganizationalDomain) {
  const DmarcOutcome o = run(input("example.com"));
  EXPECT_EQ(o.result, DmarcResult::None);
  EXPECT_EQ(dns_.queries().size(), 1u);
}

TEST_F(DmarcEvaluate, MultipleRecordsMeanNoPolicyWithoutFallback) {
  dns_.add("_dmarc.sub.example.com", Type::TXT, "v=DMARC1; p=reject");
  dns_.add("_dmarc.sub.example.com", Type::TXT, "v=DMARC1; p=none");
  dns_.add("_dmarc.sub.example.com", Type::TXT, "v=spf1 -all");  // not counted
  dns_.add("_dmarc.example.com", Type::TXT, "v=DMARC1; p=reject");
  const DmarcOutcome o = run(input("sub.example.com"));
  EXPECT_EQ(o.result, DmarcResult::None);
  EXPECT_EQ(o.detail, "2 DMARC records at _dmarc.sub.example.com");
  EXPECT_EQ(dns_.queries().size(), 1u);
}

TEST_F(DmarcEvaluate, InvalidRecordIsPermerror) {
  dns_.add("_dmarc.example.com", Type::TXT, "v=DMARC1; p=bogus");
  const DmarcOutcome o = run(input("example.com"));
  EXPECT_EQ(o.result, DmarcResult::PermError);
  EXPECT_EQ(o.detail, "_dmarc.example.com: invalid p=bogus");
}

TEST_F(DmarcEvaluate, DnsTroubleIsTemperror) {
  dns_.fail("_dmarc.sub.example.com", Type::TXT, dns::Status::ServFail);
  dns_.add("_dmarc.example.com", Type::TXT, "v=DMARC1; p=reject");
  DmarcOutcome o = run(input("sub.example.com"));
  EXPECT_EQ(o.result, DmarcResult::TempError);
  EXPECT_EQ(o.detail, "_dmarc.sub.example.com: servfail");
  EXPECT_EQ(dns_.queries().size(), 1u);

  dns_.fail("_dmarc.example.org", Type::TXT, dns::Status::Timeout);
  o = run(input("www.example.org"));
  EXPECT_EQ(o.result, DmarcResult::TempError);
  EXPECT_EQ(o.detail, "_dmarc.example.org: timeout");
}

TEST_F(DmarcEvaluate, RelaxedAlignment) {
  dns_.add("_dmarc.example.com", Type::TXT, "v=DMARC1; p=reject");
  const DmarcOutcome spf = run(input("mail.example.com", spfPass("bounces.Example.COM")));
  EXPECT_EQ(spf.result, DmarcResult::Pass);
  EXPECT_TRUE(spf.spf_aligned);
  const DmarcOutcome sig = run(input("example.com", std::nullopt, {dkim("mx.example.com")}));
  EXPECT_EQ(sig.result, DmarcResult::Pass);
  EXPECT_TRUE(sig.dkim_aligned);
  EXPECT_NE(sig.detail.find("dkim pass d=mx.example.com aligned"), std::string::npos);
}

TEST_F(DmarcEvaluate, StrictAlignment) {
  dns_.add("_dmarc.example.com", Type::TXT, "v=DMARC1; p=reject; adkim=s; aspf=s");
  const DmarcOutcome o = run(input("example.com", spfPass("mail.example.com"),
                                   {dkim("mx.example.com"), dkim("example.org")}));
  EXPECT_EQ(o.result, DmarcResult::Fail);
  EXPECT_FALSE(o.spf_aligned);
  EXPECT_FALSE(o.dkim_aligned);
  EXPECT_NE(o.detail.find("spf pass mail.example.com not aligned (strict)"), std::string::npos)
      << o.detail;
  EXPECT_NE(o.detail.find("dkim pass d=mx.example.com, d=example.org not aligned (strict)"),
            std::string::npos)
      << o.detail;
  const DmarcOutcome exact = run(input("example.com", std::nullopt, {dkim("EXAMPLE.com")}));
  EXPECT_EQ(exact.result, DmarcResult::Pass);
}

TEST_F(DmarcEvaluate, OnlyPassingResultsAlign) {
  dns_.add("_dmarc.example.com", Type::TXT, "v=DMARC1; p=quarantine");
  SpfOutcome softfail = spfPass("example.com");
  softfail.result = SpfResult::SoftFail;
  const DmarcOutcome o = run(
      input("example.com", softfail,
            {dkim("example.com", DkimResult::Fail), dkim("example.com", DkimResult::PermError)}));
  EXPECT_EQ(o.result, DmarcResult::Fail);
  EXPECT_EQ(o.policy, DmarcPolicy::Quarantine);
  EXPECT_NE(o.detail.find("spf softfail; dkim: no passing signature"), std::string::npos)
      << o.detail;
}

TEST_F(DmarcEvaluate, AnAlignedTemporaryErrorIsTemperrorNotFail) {
  dns_.add("_dmarc.example.com", Type::TXT, "v=DMARC1; p=reject");
  DmarcOutcome o =
      run(input("example.com", std::nullopt, {dkim("mail.example.com", DkimResult::TempError)}));
  EXPECT_EQ(o.result, DmarcResult::TempError) << o.detail;
  SpfOutcome spf = spfPass("example.com");
  spf.result = SpfResult::TempError;
  o = run(input("example.com", spf));
  EXPECT_EQ(o.result, DmarcResult::TempError) << o.detail;
  // A temporary error of an identifier that could never align changes nothing.
  o = run(input("example.com", std::nullopt, {dkim("other.example", DkimResult::TempError)}));
  EXPECT_EQ(o.result, DmarcResult::Fail) << o.detail;
  // Nor does one next to an aligned pass.
  o = run(
      input("example.com", spfPass("example.com"), {dkim("example.com", DkimResult::TempError)}));
  EXPECT_EQ(o.result, DmarcResult::Pass) << o.detail;
}

TEST_F(DmarcEvaluate, RelaxedDoesNotCrossPublicSuffixes) {
  dns_.add("_dmarc.example.co.uk", Type::TXT, "v=DMARC1; p=reject");
  const DmarcOutcome o = run(input("example.co.uk", spfPass("evil.co.uk"), {dkim("co.uk")}));
  EXPECT_EQ(o.result, DmarcResult::Fail);
}

TEST_F(DmarcEvaluate, PctSamplingUsesTheRoll) {
  dns_.add("_dmarc.example.com", Type::TXT, "v=DMARC1; p=reject; pct=50");
  DmarcInput in = input("example.com");
  in.roll = [] { return 49u; };
  EXPECT_FALSE(run(in).sampled_out);
  in.roll = [] { return 50u; };
  const DmarcOutcome out = run(in);
  EXPECT_TRUE(out.sampled_out);
  EXPECT_EQ(out.policy, DmarcPolicy::Reject);  // the record's policy; the caller steps it down
}

TEST_F(DmarcEvaluate, PctZeroAndHundred) {
  dns_.add("_dmarc.zero.test", Type::TXT, "v=DMARC1; p=reject; pct=0");
  dns_.add("_dmarc.full.test", Type::TXT, "v=DMARC1; p=reject; pct=100");
  int rolls = 0;
  DmarcInput zero = input("zero.test");
  zero.roll = [&] { return ++rolls, 0u; };
  EXPECT_TRUE(run(zero).sampled_out);
  DmarcInput full = input("full.test");
  full.roll = [&] { return ++rolls, 99u; };
  EXPECT_FALSE(run(full).sampled_out);
  EXPECT_EQ(rolls, 1);  // pct=100 never rolls
}

TEST_F(DmarcEvaluate, PassIsNeverSampled) {
  dns_.add("_dmarc.example.com", Type::TXT, "v=DMARC1; p=reject; pct=0");
  EXPECT_FALSE(run(input("example.com", spfPass("example.com"))).sampled_out);
}

TEST_F(DmarcEvaluate, CancelledEvaluationNeverAnswers) {
  dns_.add("_dmarc.example.com", Type::TXT, "v=DMARC1; p=reject");
  bool called = false;
  auto pending = evaluateDmarc(dns_, input("example.com"), [&](DmarcOutcome) { called = true; });
  pending.reset();
  test::runFor(base_, std::chrono::milliseconds(30));
  EXPECT_FALSE(called);
}

TEST_F(DmarcEvaluate, EmptyFromDomainAnswersInline) {
  std::optional<DmarcOutcome> outcome;
  auto pending = evaluateDmarc(dns_, input(""), [&](DmarcOutcome o) { outcome = o; });
  EXPECT_EQ(pending, nullptr);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->result, DmarcResult::PermError);
  EXPECT_TRUE(dns_.queries().empty());
}

}  // namespace
}  // namespace spamgate::auth
