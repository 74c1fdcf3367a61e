// ServerSession MAIL and RCPT: syntax replies as the client sees them, limits, PIPELINING,
// stage decisions and waiting. Whole and byte-wise.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "driver.h"

namespace spamgate::smtp::test {
namespace {

class EnvelopeTest : public SessionTest {};

std::string mailReply(EnvelopeTest& test, const std::string& arg) {
  auto& d = test.ready();
  d.send("MAIL " + arg + "\r\n");
  const auto replies = d.take();
  return replies.size() == 1 ? replies[0] : "(" + std::to_string(replies.size()) + " replies)";
}

std::string rcptReply(EnvelopeTest& test, const std::string& arg, std::string mail_params = "") {
  auto& d = test.ready();
  d.send("MAIL FROM:<s@example.org>" + mail_params + "\r\nRCPT " + arg + "\r\n");
  const auto replies = d.take();
  return replies.size() == 2 ? replies[1] : "(" + std::to_string(replies.size()) + " replies)";
}

TEST_P(EnvelopeTest, MailSyntaxReplies) {
  EXPECT_EQ(mailReply(*this, "FROM:<>"), "250 2.1.0 Ok");
  EXPECT_EQ(mailReply(*this, "FROM:<@relay.example,@b.example:a@example.com>"), "250 2.1.0 Ok");
  EXPECT_EQ(mailReply(*this, "FROM:<\"john doe\"@example.com>"), "250 2.1.0 Ok");
  EXPECT_EQ(mailReply(*this, "FROM:a@example.com"), "250 2.1.0 Ok");
  EXPECT_EQ(mailReply(*this, "FROM: <a@example.com>"), "250 2.1.0 Ok");
  EXPECT_EQ(mailReply(*this, "FROM:<a@[192.0.2.1]>"), "250 2.1.0 Ok");
  EXPECT_EQ(mailReply(*this, "TO:<a@example.com>"), "501 5.5.4 Syntax: MAIL FROM:<address>");
  EXPECT_EQ(mailReply(*this, "FROM <a@example.com>"), "501 5.5.4 Syntax: MAIL FROM:<address>");
  EXPECT_EQ(mailReply(*this, "FROM:"), "501 5.1.7 Bad sender address syntax");
  EXPECT_EQ(mailReply(*this, "FROM:<a@example.com"), "501 5.1.7 Bad sender address syntax");
  EXPECT_EQ(mailReply(*this, "FROM:<a@example.com>x"), "501 5.1.7 Bad sender address syntax");
  EXPECT_EQ(mailReply(*this, "FROM:<postmaster>"), "501 5.1.7 Bad sender address syntax");
  EXPECT_EQ(mailReply(*this, "FROM:<a..b@example.com>"), "501 5.1.7 Bad sender address syntax");
}

TEST_P(EnvelopeTest, MailParameterReplies) {
  EXPECT_EQ(mailReply(*this, "FROM:<a@x.example> SIZE=1000 BODY=8BITMIME SMTPUTF8"),
            "250 2.1.0 Ok");
  EXPECT_EQ(mailReply(*this, "FROM:<a@x.example> SIZE=abc"), "501 5.5.4 Bad SIZE parameter");
  EXPECT_EQ(mailReply(*this, "FROM:<a@x.example> BODY=9BIT"),
            "501 5.5.4 Bad BODY parameter (7BIT or 8BITMIME)");
  EXPECT_EQ(mailReply(*this, "FROM:<a@x.example> SMTPUTF8=YES"),
            "501 5.5.4 SMTPUTF8 takes no value");
  EXPECT_EQ(mailReply(*this, "FROM:<a@x.example> FOO=BAR"), "555 5.5.4 Unsupported MAIL parameter");
  EXPECT_EQ(mailReply(*this, "FROM:<anne\xc3\x8b@example.com>"),
            "553 5.6.7 Non-ASCII address requires SMTPUTF8");
  EXPECT_EQ(mailReply(*this, "FROM:<anne\xc3\x8b@example.com> SMTPUTF8"), "250 2.1.0 Ok");
}

TEST_P(EnvelopeTest, MailPathLengthLimit) {
  const std::string domain = "@example.com";
  const std::string local256(256 - 2 - domain.size(), 'l');
  EXPECT_EQ(mailReply(*this, "FROM:<" + local256 + domain + ">"), "250 2.1.0 Ok");
  EXPECT_EQ(mailReply(*this, "FROM:<" + local256 + "l" + domain + ">"),
            "501 5.1.7 Bad sender address syntax");
}

TEST_P(EnvelopeTest, MailPassesTheParsedArgumentsToTheStage) {
  auto& d = ready();
  d.hold(Stage::Mail);
  d.send("MAIL FROM:<@relay.example:a@example.com> size=42 body=8bitmime\r\n");
  ASSERT_NE(d.session().pendingMail(), nullptr);
  EXPECT_EQ(d.session().pendingMail()->reverse_path, "a@example.com");
  EXPECT_EQ(d.session().pendingMail()->size, 42u);
  EXPECT_EQ(d.session().pendingRcpt(), nullptr);
  d.resume();
  EXPECT_EQ(d.session().transaction().mail.relay_params, "BODY=8BITMIME");
  EXPECT_TRUE(d.session().transaction().active);
}

TEST_P(EnvelopeTest, MailSizeOverTheLimitIsRefused) {
  auto options = defaultOptions();
  options.limits.message_size = 1000;
  auto& d = ready(options);
  d.send("MAIL FROM:<a@example.com> SIZE=1001\r\nMAIL FROM:<a@example.com> SIZE=1000\r\n");
  EXPECT_EQ(d.take(), (Replies{"552 5.3.4 Message size exceeds fixed limit", "250 2.1.0 Ok"}));
  EXPECT_EQ(d.stageCount(Stage::Mail), 1u);  // the refused MAIL never reached the pipeline
}

TEST_P(EnvelopeTest, RcptSyntaxReplies) {
  EXPECT_EQ(rcptReply(*this, "TO:<rcpt@example.com>"), "250 2.1.5 Ok");
  EXPECT_EQ(rcptReply(*this, "TO:<postmaster>"), "250 2.1.5 Ok");
  EXPECT_EQ(rcptReply(*this, "TO:<PostMaster>"), "250 2.1.5 Ok");
  EXPECT_EQ(rcptReply(*this, "TO:postmaster"), "250 2.1.5 Ok");
  EXPECT_EQ(rcptReply(*this, "TO: <rcpt@example.com>"), "250 2.1.5 Ok");
  EXPECT_EQ(rcptReply(*this, "TO:<" + std::string(64, 'l') + "@example.com>"), "250 2.1.5 Ok");
  // Lenient like Postfix: RFC 5321 4.5.3.1.1 lets servers accept longer local parts.
  EXPECT_EQ(rcptReply(*this, "TO:<" + std::string(65, 'l') + "@example.com>"), "250 2.1.5 Ok");
  EXPECT_EQ(rcptReply(*this, "TO:<>"), "501 5.1.3 Bad recipient address syntax");
  EXPECT_EQ(rcptReply(*this, "TO:<rcpt>"), "501 5.1.3 Bad recipient address syntax");
  EXPECT_EQ(rcptReply(*this, "FROM:<rcpt@example.com>"), "501 5.5.4 Syntax: RCPT TO:<address>");
  EXPECT_EQ(rcptReply(*this, "TO:<rcpt@example.com> NOTIFY=NEVER"),
            "555 5.5.4 Unsupported RCPT parameter");
  EXPECT_EQ(rcptReply(*this, "TO:<j\xc3\xb6rg@example.com>"),
            "553 5.6.7 Non-ASCII address requires SMTPUTF8");
  EXPECT_EQ(rcptReply(*this, "TO:<j\xc3\xb6rg@example.com>", " SMTPUTF8"), "250 2.1.5 Ok");
}

TEST_P(EnvelopeTest, RecipientLimit) {
  auto options = defaultOptions();
  options.limits.recipients = 3;
  auto& d = inTransaction(options);
  d.send(
      "RCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nRCPT TO:<d@example.com>\r\n"
      "DATA\r\n");
  EXPECT_EQ(d.take(),
            (Replies{"250 2.1.5 Ok", "250 2.1.5 Ok", "452 4.5.3 Error: too many recipients",
                     "354 End data with <CR><LF>.<CR><LF>"}));
  EXPECT_EQ(d.session().transaction().accepted(), 3u);
  EXPECT_EQ(d.stageCount(Stage::Rcpt), 3u);
}

TEST_P(EnvelopeTest, HundredRecipientsAreAcceptedByDefault) {
  auto& d = ready();
  std::string group = "MAIL FROM:<a@example.com>\r\n";
  for (int i = 0; i <= 100; ++i)
    group += "RCPT TO:<r" + std::to_string(i) + "@example.com>\r\n";
  d.send(group);
  auto replies = d.take();
  ASSERT_EQ(replies.size(), 102u);
  EXPECT_EQ(std::count(replies.begin(), replies.end(), "250 2.1.5 Ok"), 100);
  EXPECT_EQ(replies.back(), "452 4.5.3 Error: too many recipients");
}

TEST_P(EnvelopeTest, RefusedRecipientRecordsStayBounded) {
  auto options = defaultOptions();
  options.limits.recipients = 2;
  auto& d = inTransaction(options);
  d.script(Stage::Rcpt, makeReply(550, "5.1.1", "User unknown"));
  std::string many;
  for (int i = 0; i < 200; ++i)
    many += "RCPT TO:<r" + std::to_string(i) + "@example.com>\r\n";
  d.send(many);
  EXPECT_EQ(d.take().size(), 200u);
  EXPECT_FALSE(d.closed());  // 452 is not an error: clients pipeline past unknown limits
  EXPECT_LE(d.session().transaction().recipients.size(), 4u);
}

TEST_P(EnvelopeTest, PipelinedGroupRepliesInOrder) {
  auto& d = ready();
  d.send(
      "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\n"
      "DATA\r\n");
  EXPECT_EQ(d.take(), (Replies{"250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok",
                               "354 End data with <CR><LF>.<CR><LF>"}));
  EXPECT_EQ(d.stages(), (std::vector<Stage>{Stage::Connect, Stage::Helo, Stage::Mail, Stage::Rcpt,
                                            Stage::Rcpt, Stage::Data}));
  EXPECT_TRUE(d.session().inData());
}

TEST_P(EnvelopeTest, PipelinedGroupWithARefusal) {
  auto& d = ready();
  d.onStage(Stage::Rcpt, [](const ServerSession& s) {
    const bool bad = s.pendingRcpt()->forward_path == "bad@example.com";
    return bad ? StageResult{makeReply(550, "5.1.1", "User unknown")} : StageResult{};
  });
  d.send(
      "MAIL FROM:<a@example.com>\r\nRCPT TO:<bad@example.com>\r\nRCPT TO:<c@example.com>\r\n"
      "DATA\r\n");
  EXPECT_EQ(d.take(), (Replies{"250 2.1.0 Ok", "550 5.1.1 User unknown", "250 2.1.5 Ok",
                               "354 End data with <CR><LF>.<CR><LF>"}));
  d.send("hello\r\n.\r\n");
  ASSERT_EQ(d.deliveries().size(), 1u);
  EXPECT_EQ(d.deliveries()[0].recipients, std::vector<std::string>{"c@example.com"});
}

TEST_P(EnvelopeTest, MailRefusalLeavesNoTransaction) {
  auto& d = ready();
  d.script(Stage::Mail, makeReply(550, "5.7.1", "Sender rejected"));
  d.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nMAIL FROM:<a@example.com>\r\n");
  EXPECT_EQ(d.take(), (Replies{"550 5.7.1 Sender rejected", "503 5.5.1 Error: need MAIL command",
                               "250 2.1.0 Ok"}));
}

TEST_P(EnvelopeTest, MailStageMayAnswerItsOwnPositiveReply) {
  auto& d = ready();
  d.script(Stage::Mail, makeReply(250, "2.1.0", "Sender ok"));
  d.send("MAIL FROM:<a@example.com>\r\n");
  EXPECT_EQ(d.take(), Replies{"250 2.1.0 Sender ok"});
  EXPECT_TRUE(d.session().transaction().active);
}

TEST_P(EnvelopeTest, RcptRefusalIsNotAnAcceptedRecipient) {
  auto& d = inTransaction();
  d.script(Stage::Rcpt, makeReply(450, "4.7.1", "Greylisted"));
  d.send("RCPT TO:<b@example.com>\r\n");
  EXPECT_EQ(d.take(), Replies{"450 4.7.1 Greylisted"});
  const auto& recipients = d.session().transaction().recipients;
  ASSERT_EQ(recipients.size(), 2u);
  EXPECT_TRUE(recipients[0].accepted);
  EXPECT_FALSE(recipients[1].accepted);
  EXPECT_EQ(recipients[1].reply.code, 450);
  EXPECT_EQ(d.session().transaction().accepted(), 1u);
}

TEST_P(EnvelopeTest, AllRecipientsRefusedMeansNoData) {
  auto& d = ready();
  d.script(Stage::Rcpt, makeReply(550, "5.1.1", "User unknown"));
  d.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
  EXPECT_EQ(d.take().back(), "554 5.5.1 Error: no valid recipients");
  EXPECT_EQ(d.stageCount(Stage::Data), 0u);
}

TEST_P(EnvelopeTest, SyntaxRefusedRecipientIsRecorded) {
  auto& d = inTransaction();
  d.send("RCPT TO:<nope>\r\n");
  const auto& recipients = d.session().transaction().recipients;
  ASSERT_EQ(recipients.size(), 2u);
  EXPECT_EQ(recipients[1].address, "TO:<nope>");
  EXPECT_FALSE(recipients[1].accepted);
  EXPECT_EQ(d.session().errors(), 1u);
}

TEST_P(EnvelopeTest, InputWhileWaitingIsHandledAfterResume) {
  auto& d = ready();
  d.hold(Stage::Mail);
  d.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nNOOP\r\n");
  EXPECT_TRUE(d.session().waiting());
  EXPECT_TRUE(d.take().empty());
  EXPECT_EQ(d.stages().back(), Stage::Mail);
  d.send("RCPT TO:<c@example.com>\r\n");  // still kept
  EXPECT_TRUE(d.take().empty());
  d.resume();
  EXPECT_FALSE(d.session().waiting());
  EXPECT_EQ(d.take(), (Replies{"250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.0.0 Ok", "250 2.1.5 Ok"}));
}

TEST_P(EnvelopeTest, PendingRcptIsVisibleWhileWaiting) {
  auto& d = inTransaction();
  d.hold(Stage::Rcpt);
  d.send("RCPT TO:<@route.example:b@example.com>\r\n");
  ASSERT_NE(d.session().pendingRcpt(), nullptr);
  EXPECT_EQ(d.session().pendingRcpt()->forward_path, "b@example.com");
  EXPECT_EQ(d.session().pendingMail(), nullptr);
  d.resume(StageResult{makeReply(550, "5.7.1", "No")});
  EXPECT_EQ(d.take(), Replies{"550 5.7.1 No"});
}

INSTANTIATE_TEST_SUITE_P(Feeds, EnvelopeTest, ::testing::Values(Feed::Whole, Feed::Bytewise),
                         feedName);

}  // namespace
}  // namespace spamgate::smtp::test
