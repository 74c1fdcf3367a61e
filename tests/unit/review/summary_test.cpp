#include "review/summary.h"

#include <gtest/gtest.h>

#include "review/filter.h"

namespace spamgate::review {
namespace {

TEST(ReasonGroup, ScoreReasonsAreOneGroup) {
  const auto a = groupReason("score 16.0 >= reject_score 15.0");
  const auto b = groupReason("score 22 >= reject_score 15");
  EXPECT_EQ(a.reason, "score >= reject_score");
  EXPECT_EQ(a.check, "score");
  EXPECT_EQ(b.reason, a.reason);
}

TEST(ReasonGroup, CheckIsThePrefix) {
  EXPECT_EQ(groupReason("dnsbl: DNSBL_LISTED").check, "dnsbl");
  EXPECT_EQ(groupReason("dnsbl: DNSBL_LISTED").reason, "dnsbl: DNSBL_LISTED");
  EXPECT_EQ(groupReason("backend: 550 5.1.1 no: such user").check, "backend");
  EXPECT_EQ(groupReason("protocol: bare LF").check, "protocol");
  EXPECT_EQ(groupReason("something else").check, "");
  EXPECT_EQ(groupReason("score 3 >= tag_score 5").reason, "score 3 >= tag_score 5");
}

Record record(std::string_view action, std::string_view ip, std::string_view from) {
  Record r;
  r.time_ms = 1000;
  r.event = "transaction";
  r.id = "ID";
  r.action = action;
  r.client_ip = ip;
  r.has_mail = true;
  r.mail_from = from;
  return r;
}

TEST(Summary, CountsAndRanks) {
  SummaryBuilder b;
  b.add(record("reject", "192.0.2.1", "a@X.example"));
  b.add(record("reject", "192.0.2.1", "b@x.example"));
  b.add(record("accept", "192.0.2.2", ""));
  b.add(record("quarantine", "192.0.2.3", "c@y.example"));
  const Summary s = b.finish(2);
  EXPECT_EQ(s.decisions, 4u);
  EXPECT_EQ(s.actions[actionIndex("reject")], 2u);
  EXPECT_EQ(s.actions[kActionCount - 1], 1u);  // other
  ASSERT_EQ(s.ips.size(), 2u);                 // cut to `top`
  EXPECT_EQ(s.ips[0].name, "192.0.2.1");
  EXPECT_EQ(s.ips[0].rejected, 2u);
  EXPECT_EQ(s.ips[1].name, "192.0.2.2");  // ties by name
  EXPECT_EQ(s.domains[0].name, "x.example");
  EXPECT_EQ(s.domains[0].count, 2u);
  EXPECT_EQ(s.domains[1].name, "<>");
}

TEST(Filter, AddressMatching) {
  const auto sub = parseAddressMatch("Example.ORG");
  EXPECT_TRUE(sub.matches("bob@mail.example.org"));
  EXPECT_FALSE(sub.matches("bob@example.net"));
  const auto exact = parseAddressMatch("<Bob@Example.org>");
  EXPECT_TRUE(exact.matches("bob@example.org"));
  EXPECT_FALSE(exact.matches("bob@example.org.evil"));
  const auto null = parseAddressMatch("<>");
  EXPECT_FALSE(null.empty());
  EXPECT_TRUE(null.matches(""));
  EXPECT_FALSE(null.matches("a@b"));
}

TEST(Filter, Combined) {
  Filter f;
  f.actions = {"reject", "tempfail"};
  f.network = checks::parseCidr("192.0.2.0/24");
  f.from = parseAddressMatch("x.example");
  EXPECT_TRUE(f.matches(record("reject", "192.0.2.1", "a@x.example")));
  EXPECT_FALSE(f.matches(record("accept", "192.0.2.1", "a@x.example")));
  EXPECT_FALSE(f.matches(record("reject", "198.51.100.1", "a@x.example")));
  EXPECT_FALSE(f.matches(record("reject", "not an ip", "a@x.example")));
  EXPECT_FALSE(f.matches(record("reject", "192.0.2.1", "a@y.example")));
  f.window.since_ms = 1001;
  EXPECT_FALSE(f.matches(record("reject", "192.0.2.1", "a@x.example")));
}

}  // namespace
}  // namespace spamgate::review
