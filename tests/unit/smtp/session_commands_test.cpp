// ServerSession outside a transaction: greeting, HELO/EHLO, the simple verbs, line limits,
// error limits, the connect and helo stages, timeout and shutdown. Whole and byte-wise.
#include <gtest/gtest.h>

#include <string>

#include "driver.h"

namespace spamgate::smtp::test {
namespace {

class CommandTest : public SessionTest {};

constexpr std::string_view kEhloWire =
    "250-mx.example\r\n"
    "250-PIPELINING\r\n"
    "250-SIZE 52428800\r\n"
    "250-8BITMIME\r\n"
    "250-ENHANCEDSTATUSCODES\r\n"
    "250-SMTPUTF8\r\n"
    "250 CHUNKING\r\n";

TEST_P(CommandTest, GreetingComesFromTheConnectStage) {
  Driver d(defaultOptions(), GetParam());
  d.start();
  EXPECT_EQ(d.stages(), std::vector<Stage>{Stage::Connect});
  EXPECT_EQ(d.transcript(), "220 mx.example ESMTP spamgate\r\n");
  EXPECT_FALSE(d.closed());
}

TEST_P(CommandTest, GreetingWaitsForTheConnectStage) {
  Driver d(defaultOptions(), GetParam());
  d.hold(Stage::Connect);
  d.start();
  EXPECT_TRUE(d.session().waiting());
  d.send("EHLO early.example\r\n");  // a pregreet: kept until the greeting is out
  EXPECT_EQ(d.transcript(), "");
  d.resume();
  EXPECT_EQ(d.take(), (Replies{"220 mx.example ESMTP spamgate",
                               "250 mx.example PIPELINING "
                               "SIZE 52428800 8BITMIME "
                               "ENHANCEDSTATUSCODES SMTPUTF8 "
                               "CHUNKING"}));
}

TEST_P(CommandTest, HeloRepliesWithTheHostname) {
  auto& d = open();
  d.send("HELO client.example\r\n");
  EXPECT_EQ(d.take(), Replies{"250 mx.example"});
  EXPECT_EQ(d.session().helo(), "client.example");
  EXPECT_FALSE(d.session().esmtp());
  EXPECT_EQ(d.stages().back(), Stage::Helo);
}

TEST_P(CommandTest, EhloListsCapabilitiesWithSize) {
  auto options = defaultOptions();
  options.limits.message_size = 12345;
  auto& d = open(options);
  d.send("EHLO client.example\r\n");
  const std::string expected =
      "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 12345\r\n"
      "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n"
      "250 CHUNKING\r\n";
  EXPECT_EQ(d.transcript().substr(d.transcript().find("\r\n") + 2), expected);
  EXPECT_TRUE(d.session().esmtp());
}

TEST_P(CommandTest, EhloWithoutTlsDoesNotOfferStartTls) {
  auto& d = open();
  d.send("EHLO client.example\r\n");
  EXPECT_EQ(d.transcript().substr(d.transcript().find("\r\n") + 2), kEhloWire);
}

TEST_P(CommandTest, EhloOffersStartTlsWhenAvailable) {
  auto options = defaultOptions();
  options.tls_available = true;
  auto& d = open(options);
  d.send("EHLO client.example\r\n");
  EXPECT_NE(d.transcript().find("250-CHUNKING\r\n250 STARTTLS\r\n"), std::string::npos);
}

TEST_P(CommandTest, EhloUnderImplicitTlsDoesNotOfferStartTls) {
  auto options = defaultOptions();
  options.tls_available = true;
  options.tls_active = true;
  auto& d = open(options);
  d.send("EHLO client.example\r\n");
  EXPECT_EQ(d.transcript().find("STARTTLS"), std::string::npos);
  EXPECT_TRUE(d.session().tlsActive());
}

TEST_P(CommandTest, HeloAndEhloNeedAnArgument) {
  auto& d = open();
  d.send("HELO\r\nEHLO\r\nEHLO   \r\n");
  EXPECT_EQ(d.take(),
            (Replies{"501 5.5.4 Syntax error in parameters", "501 5.5.4 Syntax error in parameters",
                     "501 5.5.4 Syntax error in parameters"}));
  EXPECT_EQ(d.stages(), std::vector<Stage>{Stage::Connect});
}

TEST_P(CommandTest, VerbsAreCaseInsensitive) {
  auto& d = open();
  d.send("ehlo x\r\nmail from:<a@example.com>\r\nrCpT tO:<b@example.com>\r\nnoop\r\n");
  const auto replies = d.take();
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[1], "250 2.1.0 Ok");
  EXPECT_EQ(replies[2], "250 2.1.5 Ok");
  EXPECT_EQ(replies[3], "250 2.0.0 Ok");
}

TEST_P(CommandTest, SimpleVerbs) {
  auto& d = open();
  d.send(
      "NOOP\r\nNOOP ignored argument\r\nRSET\r\nRSET foo\r\nVRFY postmaster\r\nVRFY\r\n"
      "HELP\r\nHELP MAIL\r\nEXPN list\r\nAUTH PLAIN\r\nQUIT now\r\n");
  EXPECT_EQ(
      d.take(),
      (Replies{
          "250 2.0.0 Ok", "250 2.0.0 Ok", "250 2.0.0 Ok", "501 5.5.4 Syntax error in parameters",
          "252 2.0.0 Cannot VRFY user, but will accept message",
          "501 5.5.4 Syntax error in parameters",
          "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP "
          "STARTTLS",
          "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP "
          "STARTTLS",
          "502 5.5.1 Error: command not implemented", "503 5.5.1 Error: authentication not enabled",
          "501 5.5.4 Syntax error in parameters"}));
  EXPECT_FALSE(d.closed());
  EXPECT_EQ(d.session().errors(), 5u);
}

TEST_P(CommandTest, QuitSaysByeAndCloses) {
  auto& d = ready();
  d.send("QUIT\r\nNOOP\r\n");
  EXPECT_EQ(d.take(), Replies{"221 2.0.0 Bye"});
  EXPECT_TRUE(d.closed());
  EXPECT_TRUE(d.session().closed());
  d.send("NOOP\r\n");  // after Close nothing is handled
  EXPECT_TRUE(d.take().empty());
}

TEST_P(CommandTest, BadSequencesBeforeHelo) {
  auto& d = open();
  d.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
  EXPECT_EQ(d.take(),
            (Replies{"503 5.5.1 Error: send HELO/EHLO first", "503 5.5.1 Error: need MAIL command",
                     "503 5.5.1 Error: need MAIL command"}));
}

TEST_P(CommandTest, BadSequenceReplies) {
  auto& d = ready();
  d.send(
      "RCPT TO:<b@example.com>\r\nMAIL FROM:<a@example.com>\r\nDATA\r\n"
      "MAIL FROM:<c@example.com>\r\n");
  EXPECT_EQ(d.take(), (Replies{"503 5.5.1 Error: need MAIL command", "250 2.1.0 Ok",
                               "554 5.5.1 Error: no valid recipients",
                               "503 5.5.1 Error: nested MAIL command"}));
}

TEST_P(CommandTest, RsetAndEhloEndTheTransaction) {
  auto& d = inTransaction();
  d.send("RSET\r\nRCPT TO:<b@example.com>\r\n");
  EXPECT_EQ(d.take(), (Replies{"250 2.0.0 Ok", "503 5.5.1 Error: need MAIL command"}));
  d.send("MAIL FROM:<a@example.com>\r\nEHLO again.example\r\nRCPT TO:<b@example.com>\r\n");
  const auto replies = d.take();
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[2], "503 5.5.1 Error: need MAIL command");
  EXPECT_EQ(d.session().helo(), "again.example");
}

TEST_P(CommandTest, EmptyAndControlCharacterLinesAreSyntaxErrors) {
  auto& d = ready();
  d.send(std::string("\r\nNO\rOP\r\nNOOP\0x\r\n", 17));
  EXPECT_EQ(d.take(), (Replies{"500 5.5.2 Error: bad syntax", "500 5.5.2 Error: bad syntax",
                               "500 5.5.2 Error: bad syntax"}));
}

TEST_P(CommandTest, CommandLineOf512OctetsIsAccepted) {
  auto& d = ready();
  std::string line = "NOOP ";
  line.append(510 - line.size(), 'x');
  ASSERT_EQ(line.size() + 2, 512u);
  d.send(line + "\r\n");
  EXPECT_EQ(d.take(), Replies{"250 2.0.0 Ok"});
}

TEST_P(CommandTest, CommandLineOf513OctetsIsRefused) {
  auto& d = ready();
  std::string line = "NOOP ";
  line.append(511 - line.size(), 'x');
  d.send(line + "\r\nNOOP\r\n");
  EXPECT_EQ(d.take(), (Replies{"500 5.5.2 Error: command line too long", "250 2.0.0 Ok"}));
}

TEST_P(CommandTest, CommandLimitFollowsTheConfiguredLimit) {
  auto options = defaultOptions();
  options.limits.command_line = 20;
  auto& d = ready(options);
  d.send("NOOP 8901234567890\r\nNOOP 89012345678901\r\n");  // 20 and 21 octets with CRLF
  EXPECT_EQ(d.take(), (Replies{"250 2.0.0 Ok", "500 5.5.2 Error: command line too long"}));
}

TEST_P(CommandTest, MegabyteLineWithoutCrlfStaysBounded) {
  auto& d = ready();
  const std::string junk(1024 * 1024, 'a');
  if (GetParam() == Feed::Whole) {
    d.send(junk);
  } else {
    for (std::size_t i = 0; i < junk.size(); ++i) {
      d.session().receive(std::string_view(junk).substr(i, 1));
      if (i % 4096 == 0) {
        ASSERT_LE(d.session().bufferedInput(), 512u);
      }
    }
  }
  EXPECT_LE(d.session().bufferedInput(), 512u);
  EXPECT_TRUE(d.take().empty());
  d.send(std::string(1001, 'a') + "\r\nNOOP\r\n");
  EXPECT_EQ(d.take(), (Replies{"500 5.5.2 Error: command line too long", "250 2.0.0 Ok"}));
  EXPECT_EQ(d.session().bufferedInput(), 0u);
}

TEST_P(CommandTest, BareLinefeedCommandIsALineUnderNormalize) {
  auto& d = ready();
  d.send("NOOP\nNOOP\r\n");
  EXPECT_EQ(d.take(), (Replies{"250 2.0.0 Ok", "250 2.0.0 Ok"}));
}

TEST_P(CommandTest, BareLinefeedCommandIsRefusedUnderReject) {
  auto options = defaultOptions();
  options.reject_bare_linefeed = true;
  auto& d = ready(options);
  d.send("NOOP\nNOOP\r\n");
  EXPECT_EQ(d.take(), (Replies{"500 5.5.2 Error: bare <LF> received", "250 2.0.0 Ok"}));
}

TEST_P(CommandTest, ErrorLimitCloses) {
  auto options = defaultOptions();
  options.limits.errors = 3;
  auto& d = ready(options);
  d.send("RSET x\r\nRSET x\r\nRSET x\r\nNOOP\r\n");
  EXPECT_EQ(d.take(),
            (Replies{"501 5.5.4 Syntax error in parameters", "501 5.5.4 Syntax error in parameters",
                     "501 5.5.4 Syntax error in parameters",
                     "421 4.7.0 mx.example Error: too many errors"}));
  EXPECT_TRUE(d.closed());
}

TEST_P(CommandTest, DefaultErrorLimitIsTen) {
  auto& d = ready();
  for (int i = 0; i < 9; ++i)
    d.send("VRFY\r\n");
  EXPECT_FALSE(d.closed());
  d.send("VRFY\r\n");
  EXPECT_TRUE(d.closed());
  EXPECT_EQ(d.take().back(), "421 4.7.0 mx.example Error: too many errors");
}

TEST_P(CommandTest, UnknownCommandLimitCloses) {
  auto& d = ready();
  d.send("FOO\r\nBAR\r\nBAZ\r\nQUX\r\n");
  EXPECT_EQ(d.take(), Replies(4, "500 5.5.2 Error: command not recognized"));
  EXPECT_FALSE(d.closed());
  d.send("XYZZY\r\nNOOP\r\n");
  EXPECT_EQ(d.take(), Replies{"421 4.7.0 mx.example Error: too many unknown commands"});
  EXPECT_TRUE(d.closed());
}

TEST_P(CommandTest, TimeoutCloses) {
  auto& d = inTransaction();
  d.timeout();
  EXPECT_EQ(d.take(), Replies{"421 4.4.2 mx.example Error: timeout exceeded"});
  EXPECT_TRUE(d.closed());
  d.timeout();  // idempotent once closed
  d.send("NOOP\r\n");
  EXPECT_TRUE(d.take().empty());
}

TEST_P(CommandTest, TimeoutWhileAStageRunsCancelsIt) {
  auto& d = ready();
  d.hold(Stage::Mail);
  d.send("MAIL FROM:<a@example.com>\r\n");
  EXPECT_TRUE(d.session().waiting());
  d.timeout();
  EXPECT_FALSE(d.session().waiting());
  EXPECT_TRUE(d.session().resume({}).empty());  // a late stage result is dropped
  EXPECT_EQ(d.take(), Replies{"421 4.4.2 mx.example Error: timeout exceeded"});
}

TEST_P(CommandTest, ShutdownWhenIdleClosesAtOnce) {
  auto& d = ready();
  d.shutdown();
  EXPECT_EQ(d.take(), Replies{"421 4.3.2 mx.example Service shutting down"});
  EXPECT_TRUE(d.closed());
}

TEST_P(CommandTest, ShutdownDuringATransactionWaitsForTheEndOfData) {
  auto& d = inTransaction();
  d.shutdown();
  EXPECT_TRUE(d.take().empty());
  d.send("RCPT TO:<other@example.com>\r\nDATA\r\n");
  EXPECT_EQ(d.take(), (Replies{"250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>"}));
  d.shutdown();
  d.send("Subject: x\r\n\r\nbody\r\n");
  EXPECT_TRUE(d.take().empty());
  d.send(".\r\n");
  EXPECT_EQ(d.take(), (Replies{"250 2.0.0 Ok", "421 4.3.2 mx.example Service shutting down"}));
  EXPECT_TRUE(d.closed());
  EXPECT_EQ(d.deliveries().size(), 1u);
}

TEST_P(CommandTest, ShutdownAfterRefusedMessageClosesToo) {
  auto options = defaultOptions();
  options.limits.message_size = 10;
  auto& d = inTransaction(options);
  d.send("DATA\r\n");
  d.take();
  d.shutdown();
  d.send("more than ten octets\r\n.\r\n");
  EXPECT_EQ(d.take(), (Replies{"552 5.3.4 Message size exceeds fixed limit",
                               "421 4.3.2 mx.example Service shutting down"}));
}

TEST_P(CommandTest, ShutdownWhileAStageRunsClosesOnceItEnds) {
  auto& d = open();
  d.hold(Stage::Helo);
  d.send("EHLO client.example\r\n");
  d.shutdown();
  EXPECT_TRUE(d.take().empty());
  d.resume();
  const auto replies = d.take();
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[1], "421 4.3.2 mx.example Service shutting down");
}

TEST_P(CommandTest, QuitIsStillAnsweredWhileDraining) {
  auto& d = inTransaction();
  d.shutdown();
  d.send("QUIT\r\n");
  EXPECT_EQ(d.take(), Replies{"221 2.0.0 Bye"});
}

TEST_P(CommandTest, AbortSendsTheReplyAndCloses) {
  auto& d = ready();
  d.abort(makeReply(421, "4.3.2", "going away"));
  EXPECT_EQ(d.take(), Replies{"421 4.3.2 going away"});
  EXPECT_TRUE(d.closed());
}

TEST_P(CommandTest, ConnectRefusalLeavesOnlyQuit) {
  Driver d(defaultOptions(), GetParam());
  d.script(Stage::Connect, makeReply(554, "5.7.1", "mx.example Service unavailable"));
  d.start();
  d.send("EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nNOOP\r\nQUIT\r\n");
  EXPECT_EQ(d.take(), (Replies{"554 5.7.1 mx.example Service unavailable",
                               "503 5.5.1 Error: service refused, send QUIT",
                               "503 5.5.1 Error: service refused, send QUIT",
                               "503 5.5.1 Error: service refused, send QUIT", "221 2.0.0 Bye"}));
  EXPECT_EQ(d.stages(), std::vector<Stage>{Stage::Connect});  // no stage ran after the refusal
  EXPECT_TRUE(d.closed());
}

TEST_P(CommandTest, ConnectRefusalStillCountsErrors) {
  auto options = defaultOptions();
  options.limits.errors = 2;
  Driver d(options, GetParam());
  d.script(Stage::Connect, makeReply(554, "5.7.1", "go away"));
  d.start();
  d.send("NOOP\r\nNOOP\r\n");
  EXPECT_EQ(d.take().back(), "421 4.7.0 mx.example Error: too many errors");
  EXPECT_TRUE(d.closed());
}

TEST_P(CommandTest, Connect421Closes) {
  Driver d(defaultOptions(), GetParam());
  d.script(Stage::Connect, makeReply(421, "4.7.0", "mx.example Too many connections"));
  d.start();
  EXPECT_EQ(d.take(), Replies{"421 4.7.0 mx.example Too many connections"});
  EXPECT_TRUE(d.closed());
  d.send("EHLO x\r\n");
  EXPECT_TRUE(d.take().empty());
}

TEST_P(CommandTest, ConnectReplyMarkedClosingCloses) {
  Driver d(defaultOptions(), GetParam());
  d.script(Stage::Connect, makeReply(554, "5.7.1", "bye", true));
  d.start();
  EXPECT_TRUE(d.closed());
}

TEST_P(CommandTest, HeloRefusalLeavesNoHelo) {
  auto& d = open();
  d.script(Stage::Helo, makeReply(550, "5.7.1", "Bad HELO"));
  d.send("EHLO bad.example\r\nMAIL FROM:<a@example.com>\r\nEHLO good.example\r\n");
  const auto replies = d.take();
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0], "550 5.7.1 Bad HELO");
  EXPECT_EQ(replies[1], "503 5.5.1 Error: send HELO/EHLO first");
  EXPECT_EQ(d.session().helo(), "good.example");
}

TEST_P(CommandTest, Stage421FromAnyStageCloses) {
  auto& d = open();
  d.script(Stage::Helo, makeReply(421, "4.7.0", "mx.example Try again later"));
  d.send("EHLO client.example\r\nNOOP\r\n");
  EXPECT_EQ(d.take(), Replies{"421 4.7.0 mx.example Try again later"});
  EXPECT_TRUE(d.closed());
}

INSTANTIATE_TEST_SUITE_P(Feeds, CommandTest, ::testing::Values(Feed::Whole, Feed::Bytewise),
                         feedName);

}  // namespace
}  // namespace spamgate::smtp::test
