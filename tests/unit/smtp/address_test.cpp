// parseMailArgs / parseRcptArgs: paths, source routes, quoting, limits, ESMTP parameters and
// their errors; plus Reply's wire form and parseCommand, which they lean on.
#include "smtp/address.h"

#include <gtest/gtest.h>

#include <string>

#include "smtp/command.h"

namespace spamgate::smtp {
namespace {

MailArgs mailOk(std::string_view arg) {
  auto parsed = parseMailArgs(arg);
  if (auto* r = std::get_if<Reply>(&parsed)) {
    ADD_FAILURE() << "MAIL " << arg << " refused: " << r->summary();
    return {};
  }
  return std::get<MailArgs>(parsed);
}

std::string mailError(std::string_view arg) {
  auto parsed = parseMailArgs(arg);
  if (auto* r = std::get_if<Reply>(&parsed)) return r->summary();
  return "accepted: " + std::get<MailArgs>(parsed).reverse_path;
}

std::string rcptOk(std::string_view arg, bool smtputf8 = false) {
  auto parsed = parseRcptArgs(arg, smtputf8);
  if (auto* r = std::get_if<Reply>(&parsed)) return "refused: " + r->summary();
  return std::get<RcptArgs>(parsed).forward_path;
}

std::string rcptError(std::string_view arg, bool smtputf8 = false) {
  auto parsed = parseRcptArgs(arg, smtputf8);
  if (auto* r = std::get_if<Reply>(&parsed)) return r->summary();
  return "accepted: " + std::get<RcptArgs>(parsed).forward_path;
}

const std::string kBadSender = "501 5.1.7 Bad sender address syntax";
const std::string kBadRcpt = "501 5.1.3 Bad recipient address syntax";

TEST(MailArgsTest, Paths) {
  EXPECT_EQ(mailOk("FROM:<a@example.com>").reverse_path, "a@example.com");
  EXPECT_EQ(mailOk("from:<a@example.com>").reverse_path, "a@example.com");
  EXPECT_EQ(mailOk("FROM:<>").reverse_path, "");
  EXPECT_EQ(mailOk("FROM:<@r1.example,@r2.example:a@example.com>").reverse_path, "a@example.com");
  EXPECT_EQ(mailOk("FROM:<\"john doe\"@example.com>").reverse_path, "\"john doe\"@example.com");
  EXPECT_EQ(mailOk("FROM:<\"a\\\"b\\\\c\"@example.com>").reverse_path,
            "\"a\\\"b\\\\c\"@example.com");
  EXPECT_EQ(mailOk("FROM:<\"a@b\"@example.com>").reverse_path, "\"a@b\"@example.com");
  EXPECT_EQ(mailOk("FROM:a@example.com").reverse_path, "a@example.com");
  EXPECT_EQ(mailOk("FROM: <a@example.com>").reverse_path, "a@example.com");
  EXPECT_EQ(mailOk("FROM:<a@[192.0.2.1]>").reverse_path, "a@[192.0.2.1]");
  EXPECT_EQ(mailOk("FROM:<a@[IPv6:2001:db8::1]>").reverse_path, "a@[IPv6:2001:db8::1]");
  EXPECT_EQ(mailOk("FROM:<first.last+tag!#$%&'*/=?^_`{|}~-@sub-domain.example>").reverse_path,
            "first.last+tag!#$%&'*/=?^_`{|}~-@sub-domain.example");
}

TEST(MailArgsTest, BadPaths) {
  EXPECT_EQ(mailError("TO:<a@example.com>"), "501 5.5.4 Syntax: MAIL FROM:<address>");
  EXPECT_EQ(mailError("FROM <a@example.com>"), "501 5.5.4 Syntax: MAIL FROM:<address>");
  for (const char* arg : {"FROM:",
                          "FROM:<",
                          "FROM:<a@example.com",
                          "FROM:<a@example.com>x",
                          "FROM:<a>",
                          "FROM:<@example.com>",
                          "FROM:<a@>",
                          "FROM:<.a@example.com>",
                          "FROM:<a.@example.com>",
                          "FROM:<a..b@example.com>",
                          "FROM:<a b@example.com>",
                          "FROM:<a@-example.com>",
                          "FROM:<a@example-.com>",
                          "FROM:<a@.example.com>",
                          "FROM:<a@example..com>",
                          "FROM:<a@exa_mple.com>",
                          "FROM:<a@[]>",
                          "FROM:<a@[1.2.3.4>",
                          "FROM:<@route.example>",
                          "FROM:<@route.example,a@example.com>",
                          "FROM:<\"unterminated@example.com>",
                          "FROM:<\"a\"b@example.com>",
                          "FROM:<postmaster>",
                          "FROM:a<b@example.com",
                          "FROM:<a@example.com>>"}) {
    EXPECT_EQ(mailError(arg), kBadSender) << arg;
  }
}

TEST(MailArgsTest, ControlCharactersAndBracketsInQuotesAreRefused) {
  for (const std::string& local : std::initializer_list<std::string>{
           "\"a\rb\"", "\"a\\\rb\"", std::string("\"a\\\0b\"", 6), "\"a\\\nb\"", "\"a\\\x7f\"",
           "\"a<b\"", "\"a>b\"", "\"a\\>b\"", "\"a\\\xc3\xa9\""}) {
    EXPECT_EQ(mailError("FROM:<" + local + "@example.com> SMTPUTF8"), kBadSender) << local;
  }
  // Found by fuzz_mail_params: relayed as "<...>", a naive parser downstream would end the
  // path at the quoted '>' and read the rest as parameters.
  EXPECT_EQ(mailError("FROM:<\"x@example.org> SIZE=1 BODY=8BITMIME\"@example.com>"), kBadSender);
  EXPECT_EQ(rcptError("TO:<\"x@example.org> NOTIFY=NEVER\"@example.com>"), kBadRcpt);
  EXPECT_EQ(mailError("FROM:a@[1.2.3.4>]"), kBadSender);
  EXPECT_EQ(mailError("FROM:<a@[<1.2.3.4]>"), kBadSender);
  EXPECT_EQ(mailOk("FROM:<\"caf\xc3\xa9\"@example.com> SMTPUTF8").reverse_path,
            "\"caf\xc3\xa9\"@example.com");
}

TEST(MailArgsTest, LocalPartLengths) {
  EXPECT_EQ(mailOk("FROM:<" + std::string(64, 'l') + "@example.com>").reverse_path.size(), 76u);
  // RFC 5321 4.5.3.1.1 sets 64 as the minimum to support; like Postfix, more is accepted.
  EXPECT_EQ(mailOk("FROM:<" + std::string(65, 'l') + "@example.com>").reverse_path.size(), 77u);
}

TEST(MailArgsTest, PathOf256OctetsIsTheLimit) {
  const std::string domain = "@example.com";
  const std::string local(256 - 2 - domain.size(), 'l');
  EXPECT_EQ(mailOk("FROM:<" + local + domain + ">").reverse_path.size(), 254u);
  EXPECT_EQ(mailError("FROM:<l" + local + domain + ">"), kBadSender);
  // Without brackets the same limit applies as if they were there.
  EXPECT_EQ(mailOk("FROM:" + local + domain).reverse_path.size(), 254u);
  EXPECT_EQ(mailError("FROM:l" + local + domain), kBadSender);
  // A source route counts: it is part of the path.
  const std::string route = "@r.example:";
  EXPECT_EQ(mailError("FROM:<" + route + local.substr(route.size() - 1) + domain + ">"),
            kBadSender);
  EXPECT_EQ(mailOk("FROM:<" + route + local.substr(route.size()) + domain + ">").reverse_path,
            local.substr(route.size()) + domain);
}

TEST(MailArgsTest, DomainLabelOf63IsTheLimit) {
  EXPECT_EQ(mailOk("FROM:<a@" + std::string(63, 'd') + ".example>").reverse_path.size(), 73u);
  EXPECT_EQ(mailError("FROM:<a@" + std::string(64, 'd') + ".example>"), kBadSender);
}

TEST(MailArgsTest, Parameters) {
  const auto args = mailOk("FROM:<a@example.com> SIZE=1000 BODY=8BITMIME SMTPUTF8");
  EXPECT_EQ(args.size, 1000u);
  EXPECT_EQ(args.body, BodyType::EightBitMime);
  EXPECT_TRUE(args.smtputf8);
  EXPECT_EQ(args.relay_params, "BODY=8BITMIME SMTPUTF8");

  const auto lower = mailOk("FROM:<a@example.com>   size=0  body=7bit  ");
  EXPECT_EQ(lower.size, 0u);
  EXPECT_EQ(lower.body, BodyType::SevenBit);
  EXPECT_FALSE(lower.smtputf8);
  EXPECT_EQ(lower.relay_params, "");

  EXPECT_EQ(mailOk("FROM:<> SMTPUTF8").relay_params, "SMTPUTF8");
  EXPECT_FALSE(mailOk("FROM:<a@example.com>").size.has_value());
  EXPECT_EQ(mailOk("FROM:<a@example.com> SIZE=18446744073709551615").size, 18446744073709551615u);
  EXPECT_EQ(mailOk("FROM:a@example.com SIZE=5").size, 5u);
}

TEST(MailArgsTest, ParameterErrors) {
  const std::string size = "501 5.5.4 Bad SIZE parameter";
  EXPECT_EQ(mailError("FROM:<a@x.example> SIZE=abc"), size);
  EXPECT_EQ(mailError("FROM:<a@x.example> SIZE="), size);
  EXPECT_EQ(mailError("FROM:<a@x.example> SIZE"), size);
  EXPECT_EQ(mailError("FROM:<a@x.example> SIZE=-1"), size);
  EXPECT_EQ(mailError("FROM:<a@x.example> SIZE=+1"), size);
  EXPECT_EQ(mailError("FROM:<a@x.example> SIZE=12x"), size);
  EXPECT_EQ(mailError("FROM:<a@x.example> SIZE=18446744073709551616"), size);
  EXPECT_EQ(mailError("FROM:<a@x.example> SIZE=1 SIZE=1"), size);
  EXPECT_EQ(mailError("FROM:<a@x.example> BODY=9BIT"),
            "501 5.5.4 Bad BODY parameter (7BIT or 8BITMIME)");
  EXPECT_EQ(mailError("FROM:<a@x.example> BODY"),
            "501 5.5.4 Bad BODY parameter (7BIT or 8BITMIME)");
  EXPECT_EQ(mailError("FROM:<a@x.example> BODY=7BIT BODY=8BITMIME"),
            "501 5.5.4 Duplicate BODY parameter");
  EXPECT_EQ(mailError("FROM:<a@x.example> SMTPUTF8=YES"), "501 5.5.4 SMTPUTF8 takes no value");
  EXPECT_TRUE(mailError("FROM:<a@x.example> SMTPUTF8 SMTPUTF8").starts_with("501 5.5.4 "));
  const std::string unknown = "555 5.5.4 Unsupported MAIL parameter";
  EXPECT_EQ(mailError("FROM:<a@x.example> FOO=BAR"), unknown);
  EXPECT_EQ(mailError("FROM:<a@x.example> RET=HDRS"), unknown);
  EXPECT_EQ(mailError("FROM:<a@x.example> AUTH=<>"), unknown);
  EXPECT_EQ(mailError("FROM:<a@x.example> =1"), unknown);
}

TEST(MailArgsTest, NonAsciiNeedsSmtputf8) {
  const std::string nonascii = "FROM:<anne\xc3\x8b@b\xc3\xbc\x63her.example>";
  EXPECT_EQ(mailError(nonascii), "553 5.6.7 Non-ASCII address requires SMTPUTF8");
  EXPECT_EQ(mailOk(nonascii + " SMTPUTF8").reverse_path, "anne\xc3\x8b@b\xc3\xbc\x63her.example");
  EXPECT_EQ(mailOk("FROM:<> SMTPUTF8").reverse_path, "");
}

TEST(RcptArgsTest, Paths) {
  EXPECT_EQ(rcptOk("TO:<rcpt@example.com>"), "rcpt@example.com");
  EXPECT_EQ(rcptOk("to:<rcpt@example.com>"), "rcpt@example.com");
  EXPECT_EQ(rcptOk("TO: <rcpt@example.com>"), "rcpt@example.com");
  EXPECT_EQ(rcptOk("TO:rcpt@example.com"), "rcpt@example.com");
  EXPECT_EQ(rcptOk("TO:<@hop.example:rcpt@example.com>"), "rcpt@example.com");
  EXPECT_EQ(rcptOk("TO:<postmaster>"), "postmaster");
  EXPECT_EQ(rcptOk("TO:<POSTMASTER>"), "POSTMASTER");
  EXPECT_EQ(rcptOk("TO:postmaster"), "postmaster");
  EXPECT_EQ(rcptOk("TO:<\"john doe\"@example.com>"), "\"john doe\"@example.com");
  EXPECT_EQ(rcptOk("TO:<" + std::string(65, 'l') + "@example.com>").size(), 77u);
}

TEST(RcptArgsTest, Errors) {
  EXPECT_EQ(rcptError("<rcpt@example.com>"), "501 5.5.4 Syntax: RCPT TO:<address>");
  EXPECT_EQ(rcptError("FROM:<rcpt@example.com>"), "501 5.5.4 Syntax: RCPT TO:<address>");
  for (const char* arg : {"TO:<>", "TO:", "TO:<rcpt>", "TO:<postmaster2>", "TO:<rcpt@>",
                          "TO:<rcpt@example.com", "TO:<rcpt@example.com>x"}) {
    EXPECT_EQ(rcptError(arg), kBadRcpt) << arg;
  }
  EXPECT_EQ(rcptError("TO:<rcpt@example.com> NOTIFY=NEVER"),
            "555 5.5.4 Unsupported RCPT parameter");
  EXPECT_EQ(rcptError("TO:<j\xc3\xb6rg@example.com>"),
            "553 5.6.7 Non-ASCII address requires SMTPUTF8");
  EXPECT_EQ(rcptOk("TO:<j\xc3\xb6rg@example.com>", true), "j\xc3\xb6rg@example.com");
}

TEST(RcptArgsTest, PathOf256OctetsIsTheLimit) {
  const std::string domain = "@example.com";
  const std::string local(256 - 2 - domain.size(), 'l');
  EXPECT_EQ(rcptOk("TO:<" + local + domain + ">").size(), 254u);
  EXPECT_EQ(rcptError("TO:<l" + local + domain + ">"), kBadRcpt);
}

TEST(ReplyTest, WireForm) {
  EXPECT_EQ(makeReply(250, "2.1.0", "Ok").wire(), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(makeReply(220, "", "mx.example ESMTP").wire(), "220 mx.example ESMTP\r\n");
  EXPECT_EQ(makeReply(250, "", "mx.example\nPIPELINING\nSIZE 10").wire(),
            "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
  EXPECT_EQ(makeReply(550, "5.7.1", "one\ntwo").wire(), "550-5.7.1 one\r\n550 5.7.1 two\r\n");
  EXPECT_EQ(makeReply(550, "5.7.1", "one\ntwo").summary(), "550 5.7.1 one two");
  EXPECT_TRUE(makeReply(421, "4.3.2", "x", true).closes);
  EXPECT_TRUE(makeReply(354, "", "").positive());
  EXPECT_TRUE(makeReply(451, "4.3.0", "").transient());
  EXPECT_TRUE(makeReply(554, "5.0.0", "").permanent());
}

TEST(ParseCommandTest, Verbs) {
  auto c = parseCommand("mail FROM:<a@b.example>  ");
  EXPECT_EQ(c.id(), Verb::Mail);
  EXPECT_EQ(c.verb, "mail");
  EXPECT_EQ(c.arg, "FROM:<a@b.example>");
  EXPECT_EQ(parseCommand("STARTTLS").id(), Verb::StartTls);
  EXPECT_EQ(parseCommand("MAILX FROM:<>").id(), Verb::Unknown);
  EXPECT_EQ(parseCommand("MAIL\tFROM:<>").id(), Verb::Unknown);  // SP is the separator
  EXPECT_EQ(parseCommand("").id(), Verb::Unknown);
  EXPECT_EQ(parseCommand("QUIT").arg, "");
}

}  // namespace
}  // namespace spamgate::smtp
