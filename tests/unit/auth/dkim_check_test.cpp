// DkimCheck through its seam: the DnsSource factory hands it a FakeDns serving the dkimpy keys;
// libopendkim runs on a std::thread (ThreadOffload). Facts, symbols and the no-pool rule.
#include <event2/event.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "auth/dkim.h"
#include "checks/dkim.h"
#include "dkim_test_util.h"
#include "fake_dns.h"
#include "support/event_loop.h"

namespace spamgate::checks {
namespace {

const std::string kDkimpy = std::string(SPAMGATE_TESTDATA) + "/dkim/dkimpy/";

class DkimCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::is_directory(kDkimpy)) GTEST_SKIP() << "no test data: " << kDkimpy;
    base_ = event_base_new();
    dns_ = std::make_unique<test::FakeDns>(base_);
    offload_ = std::make_unique<test::ThreadOffload>(base_);
    std::string text;
    ASSERT_TRUE(test::readFile(kDkimpy + "rfc6376.signed.msg", text));
    signed_ = test::toCrlf(text);
    settings_.pass_score = -0.5;
    settings_.fail_score = 2;
  }
  void TearDown() override {
    pending_.reset();
    offload_.reset();
    dns_.reset();
    if (base_ != nullptr) event_base_free(base_);
  }

  void publish(const std::string& selector, const std::string& record) {
    dns_->add(selector + "._domainkey.football.example.com", dns::Type::TXT, record);
  }
  void publishBoth() {
    publish("brisbane", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
    std::string keys;
    ASSERT_TRUE(test::readFile(kDkimpy + "test.txt", keys));
    while (!keys.empty() && keys.back() == '\n')
      keys.pop_back();
    publish("test", keys);
  }

  pipeline::CheckResult run(const std::string& message, bool with_offload = true) {
    DkimCheck check(settings_, [this](const pipeline::Context&) { return dns_->lend(); });
    pipeline::Context context;
    context.message = &message;
    context.facts = &facts_;
    context.loop = base_;
    if (with_offload) context.offload = offload_->offload();
    std::optional<pipeline::CheckResult> result;
    pending_ = check.start(pipeline::Stage::EndOfData, context,
                           [&](pipeline::CheckResult r) { result = std::move(r); });
    EXPECT_TRUE(test::runUntil(base_, [&] { return result.has_value(); }));
    return result.value_or(pipeline::CheckResult{});
  }

  event_base* base_ = nullptr;
  std::unique_ptr<test::FakeDns> dns_;
  std::unique_ptr<test::ThreadOffload> offload_;
  std::unique_ptr<pipeline::PendingCheck> pending_;
  pipeline::SessionFacts facts_;
  config::Dkim settings_;
  std::string signed_;
};

TEST_F(DkimCheckTest, SignedMessagePassesAndFillsTheFacts) {
  publishBoth();
  const pipeline::CheckResult result = run(signed_);
  EXPECT_FALSE(result.opinion.has_value()) << "DMARC decides";
  ASSERT_EQ(result.symbols.size(), 1u);
  EXPECT_EQ(result.symbols[0].name, "DKIM_PASS");
  EXPECT_DOUBLE_EQ(result.symbols[0].score, -0.5);
  EXPECT_EQ(result.symbols[0].detail,
            "d=football.example.com s=brisbane; d=football.example.com s=test");
  EXPECT_TRUE(facts_.auth.dkim_checked);
  ASSERT_EQ(facts_.auth.dkim.size(), 2u);
  EXPECT_EQ(facts_.auth.dkim[0].result, auth::DkimResult::Pass);
  EXPECT_EQ(facts_.auth.dkim[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(facts_.auth.dkim[1].algorithm, "rsa-sha256");
  EXPECT_EQ(offload_->jobs, 1);
}

TEST_F(DkimCheckTest, OneSymbolPerResultKind) {
  publishBoth();
  dns_ = std::make_unique<test::FakeDns>(base_);
  publish("brisbane", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  dns_->fail("test._domainkey.football.example.com", dns::Type::TXT, dns::Status::ServFail);
  std::string tampered = signed_;
  tampered.replace(tampered.rfind("Joe."), 4, "Joe!");  // brisbane now fails the body hash
  const pipeline::CheckResult result = run(tampered);
  ASSERT_EQ(result.symbols.size(), 2u);
  EXPECT_EQ(result.symbols[0].name, "DKIM_FAIL");
  EXPECT_DOUBLE_EQ(result.symbols[0].score, 2);
  EXPECT_EQ(result.symbols[0].detail, "d=football.example.com s=brisbane: body hash mismatch");
  EXPECT_EQ(result.symbols[1].name, "DKIM_TEMPERROR");
  EXPECT_NE(result.symbols[1].detail.find("servfail"), std::string::npos);
}

TEST_F(DkimCheckTest, VerifiesNoMoreThanMaxSignatures) {
  publishBoth();
  settings_.max_signatures = 1;
  const auth::DkimLibraryStats before = auth::dkimLibraryStats();
  const pipeline::CheckResult result = run(signed_);
  ASSERT_EQ(facts_.auth.dkim.size(), 1u);
  EXPECT_EQ(facts_.auth.dkim[0].selector, "brisbane");
  EXPECT_EQ(facts_.auth.dkim[0].result, auth::DkimResult::Pass);
  EXPECT_EQ(auth::dkimLibraryStats().signatures - before.signatures, 1u)
      << "the second signature reached libopendkim";
  ASSERT_EQ(result.symbols.size(), 1u);
  EXPECT_EQ(result.symbols[0].detail, "d=football.example.com s=brisbane");
}

TEST_F(DkimCheckTest, UnsignedMessageIsNone) {
  std::string text;
  ASSERT_TRUE(test::readFile(kDkimpy + "rfc6376.msg", text));
  const pipeline::CheckResult result = run(test::toCrlf(text));
  ASSERT_EQ(result.symbols.size(), 1u);
  EXPECT_EQ(result.symbols[0].name, "DKIM_NONE");
  EXPECT_DOUBLE_EQ(result.symbols[0].score, 0);
  EXPECT_TRUE(facts_.auth.dkim_checked);
  EXPECT_TRUE(facts_.auth.dkim.empty());
}

TEST_F(DkimCheckTest, NoWorkerPoolIsTemperrorNotInlineVerification) {
  publishBoth();
  const pipeline::CheckResult result = run(signed_, false);
  ASSERT_EQ(result.symbols.size(), 1u);
  EXPECT_EQ(result.symbols[0].name, "DKIM_TEMPERROR");
  EXPECT_EQ(result.symbols[0].detail, "no worker pool");
  EXPECT_TRUE(dns_->queries().empty());
  EXPECT_FALSE(facts_.auth.dkim_checked);
}

}  // namespace
}  // namespace spamgate::checks
