// Greylist at RCPT on a fake store with a fake clock (answers on the next loop turn): first
// contact 451 4.7.1, a retry too early 451 again, after the delay GREYLIST_PASS, a passed triplet
// passes and its TTL is refreshed, the window's expiry starts over, two addresses of one /24
// share a triplet, every skip asks nothing of the store, the grey band, a store error fails open,
// a cancelled run never answers; and the same flow on a real LmdbStore in a temp file.
#include "checks/greylist.h"

#include <event2/event.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "fake_state_store.h"
#include "store/lmdb_store.h"
#include "support/event_loop.h"

namespace spamgate::checks {
namespace {

using namespace std::chrono_literals;
using pipeline::CheckResult;
using pipeline::Stage;

constexpr int64_t kStart = 1'700'000'000'000;
constexpr char kKey[] = "grey:192.0.2.0/24:alice@example.org:bob@example.net";

class GreylistTest : public ::testing::Test {
 protected:
  GreylistTest() : base_(event_base_new()), fake_(base_, now_ms_) { settings_.enabled = true; }
  ~GreylistTest() override { event_base_free(base_); }

  WallClock clock() {
    return [this] {
      return std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms_));
    };
  }
  void advance(std::chrono::seconds by) { now_ms_ += std::chrono::milliseconds(by).count(); }

  std::optional<CheckResult> rcpt(const std::string& ip = "192.0.2.7",
                                  const std::string& from = "alice@example.org",
                                  const std::string& to = "bob@example.net") {
    Greylist check(settings_, clock());
    smtp::MailArgs mail;
    mail.reverse_path = from;
    smtp::RcptArgs recipient{to};
    pipeline::Context context = context_;
    context.client_ip = ip;
    context.mail = &mail;
    context.rcpt = &recipient;
    context.facts = &facts_;
    if (context.state == nullptr) context.state = &fake_;
    std::optional<CheckResult> got;
    auto pending = check.start(Stage::Rcpt, context, [&](CheckResult r) { got = std::move(r); });
    test::runUntil(
        base_, [&] { return got.has_value(); }, 2000ms);
    return got;
  }

  static bool deferred(const std::optional<CheckResult>& r, const std::string& seconds) {
    return r && r->opinion && r->opinion->action == policy::Action::Tempfail &&
           r->opinion->reply.code == 451 && r->opinion->reply.enhanced == "4.7.1" &&
           r->opinion->reply.text == "Greylisted, please try again in " + seconds + " seconds" &&
           r->opinion->reason == "greylist: GREYLIST_DEFER" && r->symbols.size() == 1 &&
           r->symbols[0].name == "GREYLIST_DEFER" && r->symbols[0].score == 0;
  }
  static bool passed(const std::optional<CheckResult>& r) {
    return r && !r->opinion && r->symbols.size() == 1 && r->symbols[0].name == "GREYLIST_PASS" &&
           r->symbols[0].score == 0;
  }
  static bool nothing(const std::optional<CheckResult>& r) {
    return r && !r->opinion && r->symbols.empty();
  }

  int64_t now_ms_ = kStart;
  event_base* base_;
  test::FakeStateStore fake_;
  config::Greylist settings_;
  pipeline::SessionFacts facts_;
  pipeline::Context context_;
};

TEST_F(GreylistTest, FirstContactIsDeferredAndRemembered) {
  EXPECT_TRUE(deferred(rcpt(), "300"));
  ASSERT_EQ(fake_.items.count(kKey), 1u);
  EXPECT_EQ(fake_.items[kKey].value, "wait " + std::to_string(kStart));
  EXPECT_EQ(fake_.items[kKey].expires_ms, kStart + 24 * 3600 * 1000);
}

TEST_F(GreylistTest, RetryTooEarlyIsDeferredWithoutResettingFirstSeen) {
  rcpt();
  advance(299s);
  EXPECT_TRUE(deferred(rcpt(), "1"));
  advance(1s);
  EXPECT_TRUE(passed(rcpt()));
}

TEST_F(GreylistTest, RetryAfterDelayPassesAndRemembersThePass) {
  rcpt();
  advance(301s);
  auto result = rcpt();
  ASSERT_TRUE(passed(result));
  EXPECT_EQ(result->symbols[0].detail, "retried after 301 s");
  EXPECT_EQ(fake_.items[kKey].value, "pass " + std::to_string(now_ms_));
  EXPECT_EQ(fake_.items[kKey].expires_ms, now_ms_ + int64_t{35} * 24 * 3600 * 1000);
}

TEST_F(GreylistTest, PassedTripletPassesAndItsLifetimeIsRefreshed) {
  rcpt();
  advance(600s);
  rcpt();
  advance(std::chrono::hours(24 * 30));
  EXPECT_TRUE(passed(rcpt()));
  EXPECT_EQ(fake_.items[kKey].expires_ms, now_ms_ + int64_t{35} * 24 * 3600 * 1000);
  advance(std::chrono::hours(24 * 30));  // 60 days after the pass, 30 after the refresh
  EXPECT_TRUE(passed(rcpt()));
}

TEST_F(GreylistTest, ExpiredWindowStartsOver) {
  rcpt();
  advance(std::chrono::hours(24) + 1s);
  EXPECT_TRUE(deferred(rcpt(), "300"));
  advance(299s);
  EXPECT_TRUE(deferred(rcpt(), "1"));
}

TEST_F(GreylistTest, AddressesOfOneNetworkShareATriplet) {
  EXPECT_TRUE(deferred(rcpt("192.0.2.7"), "300"));
  advance(300s);
  EXPECT_TRUE(passed(rcpt("192.0.2.200")));
  EXPECT_TRUE(deferred(rcpt("192.0.3.7"), "300"));
  settings_.ipv4_prefix = 32;
  EXPECT_TRUE(deferred(rcpt("192.0.2.8"), "300"));
  EXPECT_EQ(greylistKey(settings_, "2001:db8:1:2:3::9", "A@Example.ORG", "B@x"),
            "grey:2001:db8:1:2::/64:a@example.org:b@x");
  EXPECT_EQ(greylistKey(settings_, "192.0.2.7", "", "B@x"), "grey:192.0.2.7/32:<>:b@x");
  EXPECT_EQ(greylistKey(settings_, "not an address", "a@b", "c@d"), "");
}

TEST_F(GreylistTest, SenderAndRecipientAreCaseFolded) {
  rcpt();
  advance(300s);
  EXPECT_TRUE(passed(rcpt("192.0.2.7", "Alice@EXAMPLE.org", "BOB@example.NET")));
  EXPECT_TRUE(deferred(rcpt("192.0.2.7", "", "bob@example.net"), "300"));
}

TEST_F(GreylistTest, AllowlistedDnswlAndGoodReputationAreSkipped) {
  facts_.allowlisted = true;
  EXPECT_TRUE(nothing(rcpt()));
  facts_.allowlisted = false;
  context_.prior_symbols = {"DNSWL_LISTED"};
  EXPECT_TRUE(nothing(rcpt()));
  context_.prior_symbols = {"REPUTATION_GOOD"};
  EXPECT_TRUE(nothing(rcpt()));
  EXPECT_EQ(fake_.requests, 0);
  settings_.skip_good_reputation = false;
  EXPECT_TRUE(deferred(rcpt(), "300"));
}

TEST_F(GreylistTest, SpfPassFromAKnownDomainIsSkipped) {
  facts_.auth.spf =
      auth::SpfOutcome{auth::SpfResult::Pass, false, "alice@example.org", "example.org", ""};
  EXPECT_TRUE(deferred(rcpt(), "300"));  // not known yet
  fake_.items["spfok:example.org"] = {"1", kStart + 3600 * 1000};
  fake_.items.erase(kKey);
  EXPECT_TRUE(nothing(rcpt()));
  EXPECT_EQ(fake_.items.count(kKey), 0u);
  facts_.auth.spf->result = auth::SpfResult::SoftFail;
  EXPECT_TRUE(deferred(rcpt(), "300"));
  facts_.auth.spf->result = auth::SpfResult::Pass;
  EXPECT_TRUE(deferred(rcpt("192.0.2.7", "mallory@other.example"), "300"));  // other domain
  settings_.skip_spf_pass_known = false;
  const int before = fake_.requests;
  EXPECT_FALSE(nothing(rcpt()));
  EXPECT_EQ(fake_.requests - before, 1);  // the triplet only: spfok not asked
}

TEST_F(GreylistTest, OnlyInTheGreyBand) {
  settings_.min_score = 2;
  settings_.max_score = 6;
  context_.prior_score = 1.5;
  EXPECT_TRUE(nothing(rcpt()));
  context_.prior_score = 6;
  EXPECT_TRUE(nothing(rcpt()));
  EXPECT_EQ(fake_.requests, 0);
  context_.prior_score = 2;
  EXPECT_TRUE(deferred(rcpt(), "300"));
}

TEST_F(GreylistTest, StoreErrorFailsOpen) {
  fake_.failure = "redis unavailable";
  auto result = rcpt();
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->opinion);
  ASSERT_EQ(result->symbols.size(), 1u);
  EXPECT_EQ(result->symbols[0].name, "GREYLIST_STORE_ERROR");
  EXPECT_EQ(result->symbols[0].score, 0);
  EXPECT_EQ(result->symbols[0].detail, "redis unavailable");
}

TEST_F(GreylistTest, CancelledRunNeverAnswers) {
  Greylist check(settings_, clock());
  smtp::MailArgs mail;
  mail.reverse_path = "alice@example.org";
  smtp::RcptArgs recipient{"bob@example.net"};
  context_.client_ip = "192.0.2.7";
  context_.mail = &mail;
  context_.rcpt = &recipient;
  context_.state = &fake_;
  bool answered = false;
  auto pending = check.start(Stage::Rcpt, context_, [&](CheckResult) { answered = true; });
  ASSERT_NE(pending, nullptr);
  pending.reset();
  test::runFor(base_, 50ms);
  EXPECT_FALSE(answered);
}

TEST_F(GreylistTest, WorksOnARealLmdbStore) {
  std::string dir = (std::filesystem::temp_directory_path() / "greylistXXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  std::string error;
  store::LmdbDatabase::Options options;
  options.path = dir + "/state.mdb";
  std::shared_ptr<store::LmdbDatabase> database = store::LmdbDatabase::open(options, &error);
  ASSERT_TRUE(database) << error;
  {
    store::LmdbStore lmdb(base_, database);
    context_.state = &lmdb;
    EXPECT_TRUE(deferred(rcpt(), "300"));
    advance(100s);
    EXPECT_TRUE(deferred(rcpt(), "200"));
    advance(200s);
    EXPECT_TRUE(passed(rcpt()));
    EXPECT_EQ(*database->get(kKey).value, "pass " + std::to_string(now_ms_));
  }
  database.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spamgate::checks
