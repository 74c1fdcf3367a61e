// observe(Decision): the counters a decision line moves, and the reason groups.
#include "metrics/observe.h"

#include <gtest/gtest.h>

namespace spamgate::metrics {
namespace {

log::Decision transaction(std::string action, std::string reason, int code, uint64_t size) {
  log::Decision d;
  d.action = std::move(action);
  d.reason = std::move(reason);
  d.reply = smtp::makeReply(code, "", "text");
  d.size = size;
  return d;
}

TEST(ObserveTest, Accept) {
  Registry r;
  observe(transaction("accept", "", 250, 300), r);
  EXPECT_EQ(r.value(id("transactions_total"), "accept"), 1);
  EXPECT_EQ(r.value(id("replies_total"), "250"), 1);
  EXPECT_EQ(r.value(id("message_size_bytes")), 1);
  EXPECT_EQ(r.value(id("backend_errors_total")), 0);
  for (const auto reason : kReasons) {
    EXPECT_EQ(r.value(id("rejections_total"), reason), 0) << reason;
    EXPECT_EQ(r.value(id("tempfails_total"), reason), 0) << reason;
  }
}

TEST(ObserveTest, RejectByDnsbl) {
  Registry r;
  observe(transaction("reject", "dnsbl: DNSBL zen.example (127.0.0.2), weight 10 >= 10", 554, 0),
          r);
  EXPECT_EQ(r.value(id("transactions_total"), "reject"), 1);
  EXPECT_EQ(r.value(id("rejections_total"), "dnsbl"), 1);
  EXPECT_EQ(r.value(id("rejections_total"), "other"), 0);
  EXPECT_EQ(r.value(id("replies_total"), "554"), 1);
  EXPECT_EQ(r.value(id("message_size_bytes")), 0);  // refused before DATA: no size
}

TEST(ObserveTest, BackendError) {
  Registry r;
  observe(transaction("tempfail", "backend: connect to 127.0.0.1:25: Connection refused", 451, 0),
          r);
  EXPECT_EQ(r.value(id("backend_errors_total")), 1);
  EXPECT_EQ(r.value(id("tempfails_total"), "backend"), 1);
  EXPECT_EQ(r.value(id("rejections_total"), "backend"), 0);
  EXPECT_EQ(r.value(id("transactions_total"), "tempfail"), 1);
  EXPECT_EQ(r.value(id("replies_total"), "451"), 1);
}

TEST(ObserveTest, StoreErrorsByFeature) {
  Registry r;
  auto d = transaction("accept", "", 250, 300);
  d.symbols = {{"GREYLIST_STORE_ERROR", 0, "redis unavailable"},
               {"RATE_STORE_ERROR", 0, "redis unavailable"},
               {"REPUTATION_BAD", 4, "3.0 decisions, 100% bad"}};
  observe(d, r);
  EXPECT_EQ(r.value(id("store_errors_total"), "greylist"), 1);
  EXPECT_EQ(r.value(id("store_errors_total"), "rate_limits"), 1);
  EXPECT_EQ(r.value(id("store_errors_total"), "reputation"), 0);
  EXPECT_EQ(r.value(id("store_errors_total"), "other"), 0);
}

TEST(ObserveTest, ScoreRejectAfterData) {
  Registry r;
  observe(transaction("reject", "score 16.00 >= reject_score 15.00", 550, 5000), r);
  EXPECT_EQ(r.value(id("rejections_total"), "score"), 1);
  EXPECT_EQ(r.value(id("message_size_bytes")), 1);
}

TEST(ObserveTest, ConnectionEventIsNoTransaction) {
  Registry r;
  auto d = transaction("disconnect", "connection_limits: CONN_LIMIT_IP", 421, 0);
  d.event = "connection";
  observe(d, r);
  for (const auto action : kActions)
    EXPECT_EQ(r.value(id("transactions_total"), action), 0) << action;
  EXPECT_EQ(r.value(id("rejections_total"), "connection_limits"), 1);
  EXPECT_EQ(r.value(id("replies_total"), "421"), 1);
}

TEST(ObserveTest, NoReplyIsNoReplyCode) {
  Registry r;
  auto d = transaction("none", "client disconnected", 0, 0);
  d.reply = {};
  observe(d, r);
  EXPECT_EQ(r.value(id("transactions_total"), "none"), 1);
  EXPECT_EQ(r.render().find("spamgate_replies_total{"), std::string::npos);
}

TEST(ObserveTest, ReasonGroups) {
  EXPECT_EQ(reasonGroup("spf: SPF_FAIL example.org"), "spf");
  EXPECT_EQ(reasonGroup("rules: GTUBE"), "rules");
  EXPECT_EQ(reasonGroup("protocol: Message too big"), "protocol");
  EXPECT_EQ(reasonGroup("score 5.00 >= tempfail_score 4.00"), "score");
  EXPECT_EQ(reasonGroup("tls error: bad record"), "other");
  EXPECT_EQ(reasonGroup("timeout"), "other");
  EXPECT_EQ(reasonGroup(""), "other");
}

TEST(ObserveTest, ConnectionsAndTls) {
  Registry r;
  connectionOpened(r);
  connectionOpened(r);
  connectionClosed(r);
  connectionRefused(r);
  tlsHandshake("TLSv1.3", r);
  tlsHandshake("SSLv3", r);
  tlsFailure(r);
  EXPECT_EQ(r.value(id("connections_total")), 2);
  EXPECT_EQ(r.value(id("connections_current")), 1);
  EXPECT_EQ(r.value(id("connections_refused_total")), 1);
  EXPECT_EQ(r.value(id("tls_handshakes_total"), "TLSv1.3"), 1);
  EXPECT_EQ(r.value(id("tls_handshakes_total"), "other"), 1);
  EXPECT_EQ(r.value(id("tls_failures_total")), 1);
}

TEST(ObserveTest, CheckDurationsAndTimeouts) {
  Registry r;
  checkDone("spf", std::chrono::microseconds(1200), false, r);
  checkDone("spf", std::chrono::microseconds(60000000), true, r);
  checkDone("someday_check", std::chrono::microseconds(10), false, r);
  EXPECT_EQ(r.value(id("check_duration_seconds"), "spf"), 2);
  EXPECT_EQ(r.value(id("check_timeouts_total"), "spf"), 1);
  EXPECT_EQ(r.value(id("check_duration_seconds"), "other"), 1);
}

}  // namespace
}  // namespace spamgate::metrics
