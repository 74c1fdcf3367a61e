// The answer-parsing path: crafted messages (built with ldns) in, Result or drop out.
#include "dns/codec.h"

#include <gtest/gtest.h>

#include "dns/ldns_cxx.h"
#include "dns_packets.h"

namespace spamgate::dns {
namespace {

using test::Message;
using test::wire;

constexpr uint16_t kId = 0x4a21;
const std::string kSoa = "example.test. 300 IN SOA ns.example.test. host.example.test. 1 2 3 4 60";

Question question(const std::string& name, Type type) {
  return Question{name, type, kId};
}

Parsed parse(const Message& message, const Question& asked) {
  std::vector<uint8_t> bytes = wire(message);
  return parseAnswer(bytes, asked);
}

Message reply(const std::string& name, Type type, std::vector<std::string> answer = {},
              uint8_t rcode = LDNS_RCODE_NOERROR) {
  Message message;
  message.id = kId;
  message.qname = name;
  message.qtype = static_cast<uint16_t>(type);
  message.rcode = rcode;
  message.answer = std::move(answer);
  return message;
}

TEST(DnsCodec, AnswersOfEachType) {
  auto a =
      parse(reply("a.test", Type::A, {"a.test. 60 IN A 127.0.0.2", "a.test. 30 IN A 127.0.0.4"}),
            question("a.test", Type::A));
  ASSERT_EQ(a.disposition, Disposition::Answer);
  EXPECT_EQ(a.result.status, Status::Ok);
  EXPECT_EQ(a.result.records, (std::vector<std::string>{"127.0.0.2", "127.0.0.4"}));
  EXPECT_EQ(a.result.ttl, 30u);

  auto aaaa = parse(
      reply("a.test", Type::AAAA, {"a.test. 60 IN AAAA ::1", "a.test. 60 IN AAAA 2001:DB8::1"}),
      question("a.test", Type::AAAA));
  EXPECT_EQ(aaaa.result.records, (std::vector<std::string>{"::1", "2001:db8::1"}));

  auto ptr = parse(reply("2.0.0.127.in-addr.arpa", Type::PTR,
                         {"2.0.0.127.in-addr.arpa. 60 IN PTR Mail.Example.COM."}),
                   question("2.0.0.127.in-addr.arpa", Type::PTR));
  EXPECT_EQ(ptr.result.records, std::vector<std::string>{"mail.example.com"});

  auto mx = parse(reply("a.test", Type::MX,
                        {"a.test. 60 IN MX 20 b.a.test.", "a.test. 60 IN MX 5 c.a.test.",
                         "a.test. 60 IN MX 10 a.a.test."}),
                  question("a.test", Type::MX));
  EXPECT_EQ(mx.result.records,
            (std::vector<std::string>{"5 c.a.test", "10 a.a.test", "20 b.a.test"}));

  auto txt = parse(reply("a.test", Type::TXT,
                         {R"(a.test. 60 IN TXT "v=spf1 " "ip4:192.0.2.1 -all")",
                          R"(a.test. 60 IN TXT "second" "")"}),
                   question("a.test", Type::TXT));
  EXPECT_EQ(txt.result.records, (std::vector<std::string>{"v=spf1 ip4:192.0.2.1 -all", "second"}));
}

TEST(DnsCodec, TxtKeepsRawBytes) {
  auto txt = parse(reply("a.test", Type::TXT, {R"(a.test. 60 IN TXT "quote\"semi\;nul\000end")"}),
                   question("a.test", Type::TXT));
  ASSERT_EQ(txt.result.records.size(), 1u);
  EXPECT_EQ(txt.result.records[0], std::string("quote\"semi;nul\0end", 18));
}

// Fuzzer find (corpus dns_answer/ptr_escaped_dot_label): a label holding a dot or a space
// comes out escaped, never as a name with an extra label or a blank.
TEST(DnsCodec, OddOctetsInNamesAreEscaped) {
  auto ptr = parse(reply("2.test", Type::PTR,
                         {R"(2.test. 60 IN PTR Mai\..)", R"(2.test. 60 IN PTR a\032b.test.)"}),
                   question("2.test", Type::PTR));
  EXPECT_EQ(ptr.result.records, (std::vector<std::string>{R"(mai\.)", R"(a\032b.test)"}));
}

TEST(DnsCodec, FollowsCnameChainWithinTheAnswer) {
  auto parsed = parse(
      reply("www.a.test", Type::A,
            {"www.a.test. 300 IN CNAME alias.a.test.", "alias.a.test. 20 IN CNAME host.a.test.",
             "host.a.test. 100 IN A 192.0.2.7", "other.a.test. 1 IN A 192.0.2.8"}),
      question("www.a.test", Type::A));
  EXPECT_EQ(parsed.result.status, Status::Ok);
  EXPECT_EQ(parsed.result.records, std::vector<std::string>{"192.0.2.7"});
  EXPECT_EQ(parsed.result.ttl, 20u);

  auto dangling = parse(reply("www.a.test", Type::A, {"www.a.test. 300 IN CNAME gone.a.test."}),
                        question("www.a.test", Type::A));
  EXPECT_EQ(dangling.result.status, Status::NoData);
}

TEST(DnsCodec, CnameLoopEnds) {
  auto parsed = parse(reply("x.a.test", Type::A,
                            {"x.a.test. 60 IN CNAME y.a.test.", "y.a.test. 60 IN CNAME x.a.test."}),
                      question("x.a.test", Type::A));
  EXPECT_EQ(parsed.result.status, Status::NoData);
}

TEST(DnsCodec, RecordsOfOtherOwnersOrTypesAreIgnored) {
  auto parsed = parse(
      reply("a.test", Type::A,
            {"evil.test. 60 IN A 6.6.6.6", "a.test. 60 IN AAAA ::1", "a.test. 60 CH A 6.6.6.7"}),
      question("a.test", Type::A));
  EXPECT_EQ(parsed.result.status, Status::NoData);
  EXPECT_TRUE(parsed.result.records.empty());
}

TEST(DnsCodec, NegativeAnswersTakeTheirTtlFromTheSoa) {
  Message nx = reply("nothere.example.test", Type::A, {}, LDNS_RCODE_NXDOMAIN);
  nx.authority = {kSoa};
  auto parsed = parse(nx, question("nothere.example.test", Type::A));
  EXPECT_EQ(parsed.result.status, Status::NxDomain);
  EXPECT_EQ(parsed.result.ttl, 60u);  // min(SOA TTL 300, MINIMUM 60)

  Message nodata = reply("example.test", Type::MX);
  nodata.authority = {"example.test. 20 IN SOA ns.example.test. host.example.test. 1 2 3 4 60"};
  parsed = parse(nodata, question("example.test", Type::MX));
  EXPECT_EQ(parsed.result.status, Status::NoData);
  EXPECT_EQ(parsed.result.ttl, 20u);  // min(SOA TTL 20, MINIMUM 60)

  parsed = parse(reply("nothere.example.test", Type::A, {}, LDNS_RCODE_NXDOMAIN),
                 question("nothere.example.test", Type::A));
  EXPECT_EQ(parsed.result.status, Status::NxDomain);
  EXPECT_EQ(parsed.result.ttl, 0u);  // no SOA: not cached (RFC 2308 5)
}

TEST(DnsCodec, ErrorRcodes) {
  const std::pair<uint8_t, Status> cases[] = {{LDNS_RCODE_SERVFAIL, Status::ServFail},
                                              {LDNS_RCODE_REFUSED, Status::Refused},
                                              {LDNS_RCODE_FORMERR, Status::FormErr},
                                              {LDNS_RCODE_NOTIMPL, Status::Other},
                                              {LDNS_RCODE_YXDOMAIN, Status::Other}};
  for (auto [rcode, status] : cases) {
    auto parsed = parse(reply("a.test", Type::A, {}, rcode), question("a.test", Type::A));
    EXPECT_EQ(parsed.disposition, Disposition::Answer);
    EXPECT_EQ(parsed.result.status, status) << int(rcode);
    EXPECT_EQ(parsed.result.ttl, 0u);
  }
}

TEST(DnsCodec, TtlWithTopBitSetCountsAsZero) {
  auto parsed = parse(reply("a.test", Type::A, {"a.test. 2147483648 IN A 127.0.0.2"}),
                      question("a.test", Type::A));
  EXPECT_EQ(parsed.result.ttl, 0u);
}

TEST(DnsCodec, TruncatedAnswerAsksForTcp) {
  Message message = reply("a.test", Type::TXT, {R"(a.test. 60 IN TXT "partial")"});
  message.tc = true;
  EXPECT_EQ(parse(message, question("a.test", Type::TXT)).disposition, Disposition::Truncated);
}

TEST(DnsCodec, QuestionNameMatchesCaseInsensitively) {
  auto parsed =
      parse(reply("A.TeSt", Type::A, {"a.test. 60 IN A 127.0.0.2"}), question("a.test", Type::A));
  EXPECT_EQ(parsed.result.status, Status::Ok);
}

struct DropCase {
  const char* label;
  Message message;
  const char* reason;
};

TEST(DnsCodec, DropsWhatIsNotTheAnswerToTheQuestion) {
  const Question asked = question("a.test", Type::A);
  Message good = reply("a.test", Type::A, {"a.test. 60 IN A 127.0.0.2"});
  ASSERT_EQ(parse(good, asked).disposition, Disposition::Answer);

  std::vector<DropCase> cases;
  cases.push_back({"id", good, "id mismatch"});
  cases.back().message.id = kId ^ 1;
  cases.push_back({"query", good, "not a response"});
  cases.back().message.qr = false;
  cases.push_back({"name", good, "question name"});
  cases.back().message.qname = "b.test";
  cases.push_back({"suffix", good, "question name"});
  cases.back().message.qname = "a.test.evil";
  cases.push_back({"type", good, "question type"});
  cases.back().message.qtype = static_cast<uint16_t>(Type::AAAA);
  cases.push_back({"class", good, "question type"});
  cases.back().message.qclass = 3;  // CH
  cases.push_back({"no question", good, "question count"});
  cases.back().message.qname.clear();
  cases.push_back({"opcode", good, "opcode"});
  cases.back().message.opcode = 4;  // NOTIFY
  for (const DropCase& c : cases) {
    Parsed parsed = parse(c.message, asked);
    EXPECT_EQ(parsed.disposition, Disposition::Drop) << c.label;
    EXPECT_EQ(parsed.reason, c.reason) << c.label;
  }
}

TEST(DnsCodec, DropsMalformedBytes) {
  const Question asked = question("a.test", Type::A);
  std::vector<uint8_t> bytes = wire(reply("a.test", Type::A, {"a.test. 60 IN A 127.0.0.2"}));
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    std::vector<uint8_t> part(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_EQ(parseAnswer(part, asked).disposition, Disposition::Drop) << cut;
  }
  std::vector<uint8_t> two_questions = wire(reply("a.test", Type::A));
  two_questions[5] = 2;  // QDCOUNT 2, one present
  EXPECT_EQ(parseAnswer(two_questions, asked).disposition, Disposition::Drop);
}

TEST(DnsCodec, BuildsQueryWithEdns) {
  Question asked{"mail.example.com", Type::MX, 0xbeef};
  std::vector<uint8_t> query = buildQuery(asked, 1232);
  ASSERT_FALSE(query.empty());
  ldns_pkt* pkt = nullptr;
  ASSERT_EQ(ldns_wire2pkt(&pkt, query.data(), query.size()), LDNS_STATUS_OK);
  EXPECT_EQ(ldns_pkt_id(pkt), 0xbeef);
  EXPECT_FALSE(ldns_pkt_qr(pkt));
  EXPECT_TRUE(ldns_pkt_rd(pkt));
  EXPECT_EQ(ldns_pkt_qdcount(pkt), 1);
  EXPECT_TRUE(ldns_pkt_edns(pkt));
  EXPECT_EQ(ldns_pkt_edns_udp_size(pkt), 1232);
  EXPECT_EQ(test::queryName(query), "mail.example.com");
  ldns_pkt_free(pkt);

  setQueryId(query, 0x1234);
  EXPECT_EQ(test::queryId(query), 0x1234);
  EXPECT_TRUE(buildQuery(Question{"a..b", Type::A, 1}, 1232).empty());
}

TEST(DnsCodec, BuildsQueryWithoutEdns) {
  std::vector<uint8_t> query = buildQuery(Question{"a.test", Type::A, 7}, 0);
  ASSERT_GE(query.size(), 12u);
  EXPECT_EQ(query[11], 0);  // ARCOUNT 0: no OPT record
}

}  // namespace
}  // namespace spamgate::dns
