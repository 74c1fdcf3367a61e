#include "relay/commands.h"

#include <gtest/gtest.h>

namespace spamgate::relay {
namespace {

Capabilities caps(std::string_view ehlo_text) {
  return parseCapabilities(smtp::makeReply(250, "", ehlo_text));
}

TEST(RelayCommands, ParsesCapabilities) {
  auto c = caps(
      "mx.example\nPIPELINING\nsize 10240000\n8BITMIME\nSMTPUTF8\nSTARTTLS\nCHUNKING\n"
      "XCLIENT NAME ADDR PORT PROTO HELO LOGIN\nXFORWARD NAME ADDR PROTO HELO SOURCE\nAUTH PLAIN");
  EXPECT_TRUE(c.esmtp);
  EXPECT_TRUE(c.pipelining);
  EXPECT_TRUE(c.size);
  EXPECT_EQ(c.size_limit, 10240000u);
  EXPECT_TRUE(c.eightbitmime);
  EXPECT_TRUE(c.smtputf8);
  EXPECT_TRUE(c.starttls);
  EXPECT_TRUE(c.hasXclient("LOGIN"));
  EXPECT_TRUE(c.hasXforward("SOURCE"));
  EXPECT_FALSE(c.hasXforward("PORT"));
}

TEST(RelayCommands, GreetingNameIsNotAKeyword) {
  auto c = caps("PIPELINING");  // the server calls itself PIPELINING: still not a capability
  EXPECT_FALSE(c.pipelining);
  EXPECT_EQ(caps("x\nSIZE").size_limit, 0u);
  EXPECT_TRUE(caps("x\nSIZE").size);
  EXPECT_EQ(caps("x\nSIZE junk").size_limit, 0u);
}

TEST(RelayCommands, Xtext) {
  EXPECT_EQ(xtext("mail.example"), "mail.example");
  EXPECT_EQ(xtext("a b+c=d\x7f"), "a+20b+2Bc+3Dd+7F");
}

TEST(RelayCommands, XclientOnlyAdvertisedAttributes) {
  ClientInfo client{"192.0.2.1", 4242, "helo.example", "", true};
  EXPECT_EQ(xclientCommand(client, caps("x\nXCLIENT NAME ADDR PORT HELO PROTO")),
            "XCLIENT NAME=[UNAVAILABLE] ADDR=192.0.2.1 PORT=4242 HELO=helo.example "
            "PROTO=ESMTP\r\n");
  EXPECT_EQ(xclientCommand(client, caps("x\nXCLIENT NAME HELO")),
            "XCLIENT NAME=[UNAVAILABLE] HELO=helo.example\r\n");
  EXPECT_EQ(xclientCommand(client, caps("x\nXCLIENT LOGIN")), "");
  ClientInfo v6{"2001:db8::1", 25, "", "host.example", false};
  EXPECT_EQ(xclientCommand(v6, caps("x\nXCLIENT ADDR NAME HELO PROTO")),
            "XCLIENT NAME=host.example ADDR=IPV6:2001:db8::1 HELO=[UNAVAILABLE] PROTO=SMTP\r\n");
}

TEST(RelayCommands, XclientDropsAnOverlongHelo) {
  ClientInfo client{"192.0.2.1", 1, std::string(600, 'h'), "", true};
  std::string line = xclientCommand(client, caps("x\nXCLIENT ADDR HELO"));
  EXPECT_EQ(line, "XCLIENT ADDR=192.0.2.1 HELO=[UNAVAILABLE]\r\n");
}

TEST(RelayCommands, XforwardSplitsLikePostfix) {
  ClientInfo client{"192.0.2.1", 4242, "h e", "n.example", true};
  auto lines = xforwardCommands(client, caps("x\nXFORWARD NAME ADDR PORT PROTO HELO SOURCE"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "XFORWARD NAME=n.example ADDR=192.0.2.1 PORT=4242\r\n");
  EXPECT_EQ(lines[1], "XFORWARD PROTO=ESMTP HELO=h+20e SOURCE=REMOTE\r\n");
  auto only = xforwardCommands(client, caps("x\nXFORWARD HELO"));
  ASSERT_EQ(only.size(), 1u);
  EXPECT_EQ(only[0], "XFORWARD HELO=h+20e\r\n");
  EXPECT_TRUE(xforwardCommands(client, caps("x\nPIPELINING")).empty());
}

TEST(RelayCommands, MailAndRcpt) {
  EXPECT_EQ(mailCommand("a@b", "BODY=8BITMIME", 42, caps("x\nSIZE 100")),
            "MAIL FROM:<a@b> SIZE=42 BODY=8BITMIME\r\n");
  EXPECT_EQ(mailCommand("", "", 42, caps("x")), "MAIL FROM:<>\r\n");
  EXPECT_EQ(mailCommand("a@b", "", std::nullopt, caps("x\nSIZE")), "MAIL FROM:<a@b>\r\n");
  EXPECT_EQ(rcptCommand("c@d", "NOTIFY=NEVER"), "RCPT TO:<c@d> NOTIFY=NEVER\r\n");
}

TEST(RelayCommands, WithoutSize) {
  std::optional<uint64_t> size;
  EXPECT_EQ(withoutSize("BODY=8BITMIME size=1234 SMTPUTF8", size), "BODY=8BITMIME SMTPUTF8");
  EXPECT_EQ(size, 1234u);
  EXPECT_EQ(withoutSize("SIZE=x", size), "");
  EXPECT_FALSE(size);
  EXPECT_EQ(withoutSize("", size), "");
}

TEST(RelayCommands, DotStuffing) {
  std::string out;
  appendDotStuffed(out, ".\r\n..x\r\nnormal .\r\n.hidden");
  EXPECT_EQ(out, "..\r\n...x\r\nnormal .\r\n..hidden\r\n.\r\n");
  out.clear();
  appendDotStuffed(out, "Subject: x\r\n\r\nbody\r\n");
  EXPECT_EQ(out, "Subject: x\r\n\r\nbody\r\n.\r\n");
  out.clear();
  appendDotStuffed(out, "");
  EXPECT_EQ(out, ".\r\n");
  out.clear();
  appendDotStuffed(out, "a\r\n.\r");
  EXPECT_EQ(out, "a\r\n..\r\n.\r\n");
}

TEST(RelayCommands, QueueId) {
  EXPECT_EQ(queueIdFrom("Ok: queued as 4XyZ12abC"), "4XyZ12abC");
  EXPECT_EQ(queueIdFrom("Message Queued As ABC-123."), "ABC-123");
  EXPECT_EQ(queueIdFrom("Ok (queued as 1.2.3) thanks"), "1.2.3");
  EXPECT_EQ(queueIdFrom("Ok"), "");
}

}  // namespace
}  // namespace spamgate::relay
