// ServerSession DATA: the message as handed to the end-of-data stage, transparency, limits,
// bare CR/LF policies, improper pipelining and stage decisions. Whole and byte-wise.
#include <gtest/gtest.h>

#include <string>

#include "driver.h"

namespace spamgate::smtp::test {
namespace {

class DataTest : public SessionTest {
 public:
  // A transaction in DATA (354 taken).
  Driver& inData(SessionOptions options = defaultOptions()) {
    auto& d = inTransaction(std::move(options));
    d.send("DATA\r\n");
    EXPECT_EQ(d.take(), Replies{"354 End data with <CR><LF>.<CR><LF>"});
    return d;
  }
  // The reply to the end of data and the message delivered (empty if none was).
  std::pair<Replies, std::string> deliver(std::string_view content,
                                          SessionOptions options = defaultOptions()) {
    auto& d = inData(std::move(options));
    d.send(content);
    auto replies = d.take();
    return {replies, d.deliveries().empty() ? std::string("(none)") : d.deliveries()[0].message};
  }
};

const Replies kOk{"250 2.0.0 Ok"};

TEST_P(DataTest, MessageReachesTheEndOfDataStage) {
  auto& d = inData();
  d.send("Subject: hi\r\n\r\nHello\r\n.\r\n");
  EXPECT_EQ(d.take(), kOk);
  ASSERT_EQ(d.deliveries().size(), 1u);
  EXPECT_EQ(d.deliveries()[0].message, "Subject: hi\r\n\r\nHello\r\n");
  EXPECT_EQ(d.deliveries()[0].sender, "sender@example.org");
  EXPECT_EQ(d.deliveries()[0].recipients, std::vector<std::string>{"rcpt@example.com"});
  EXPECT_FALSE(d.session().inData());
  EXPECT_FALSE(d.session().transaction().active);  // reset after the reply
}

TEST_P(DataTest, TwoMessagesInOneSession) {
  auto& d = inData();
  d.send("one\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n");
  EXPECT_EQ(d.take(), (Replies{"250 2.0.0 Ok", "250 2.1.0 Ok", "250 2.1.5 Ok",
                               "354 End data with <CR><LF>.<CR><LF>"}));
  d.send("two\r\n.\r\n");
  ASSERT_EQ(d.deliveries().size(), 2u);
  EXPECT_EQ(d.deliveries()[1].message, "two\r\n");
  EXPECT_EQ(d.deliveries()[1].sender, "");
}

TEST_P(DataTest, DotStuffingIsUndone) {
  const auto [replies, message] = deliver("..foo\r\n..\r\n...\r\n.bar\r\n.\r\n");
  EXPECT_EQ(replies, kOk);
  EXPECT_EQ(message, ".foo\r\n.\r\n..\r\nbar\r\n");
}

TEST_P(DataTest, LoneDotInsideTheMessage) {
  const auto [replies, message] = deliver("Test\r\n..\r\nmail\r\n.\r\n");
  EXPECT_EQ(replies, kOk);
  EXPECT_EQ(message, "Test\r\n.\r\nmail\r\n");
}

TEST_P(DataTest, EmptyMessage) {
  const auto [replies, message] = deliver(".\r\n");
  EXPECT_EQ(replies, kOk);
  EXPECT_EQ(message, "");
}

TEST_P(DataTest, EightBitIsKeptAndNulDropped) {
  const auto [replies, message] = deliver(std::string("caf\xc3\xa9\0x\r\nnext\r\n.\r\n", 18));
  EXPECT_EQ(replies, kOk);
  EXPECT_EQ(message, "caf\xc3\xa9x\r\nnext\r\n");
}

TEST_P(DataTest, NulIsRefusedUnderTheRejectPolicy) {
  auto options = defaultOptions();
  options.reject_bare_linefeed = true;
  auto& d = inData(options);
  d.send(std::string("a\0b\r\n.\r\n", 9));
  EXPECT_EQ(d.take(), Replies{"550 5.6.0 Error: NUL octet received"});
  EXPECT_TRUE(d.deliveries().empty());
  EXPECT_EQ(d.session().lastMessageSize(), 5u);  // kept for the decision log
}

TEST_P(DataTest, LastMessageSizeStartsAgainAtTheNextMail) {
  auto& d = inData();
  d.send("12345678\r\n.\r\nMAIL FROM:<>\r\n");
  EXPECT_EQ(d.take(), (Replies{"250 2.0.0 Ok", "250 2.1.0 Ok"}));
  EXPECT_EQ(d.session().lastMessageSize(), 0u);
}

TEST_P(DataTest, CommandsAfterTheEndAreCommands) {
  auto& d = inData();
  d.send("body\r\n.\r\nNOOP\r\nQUIT\r\n");
  EXPECT_EQ(d.take(), (Replies{"250 2.0.0 Ok", "250 2.0.0 Ok", "221 2.0.0 Bye"}));
}

TEST_P(DataTest, SizeLimitIsCheckedAtTheEndOfData) {
  auto options = defaultOptions();
  options.limits.message_size = 100;
  const std::string line(48, 'x');
  EXPECT_EQ(deliver(line + "\r\n" + line + "\r\n.\r\n", options).first, kOk);  // 100 octets
  auto& d = inData(options);
  d.send(line + "\r\n" + line + "\r\n");
  d.send("x\r\n");
  EXPECT_TRUE(d.take().empty());  // no reply before the end of data
  d.send(".\r\nNOOP\r\n");
  EXPECT_EQ(d.take(), (Replies{"552 5.3.4 Message size exceeds fixed limit", "250 2.0.0 Ok"}));
  EXPECT_TRUE(d.deliveries().empty());
  EXPECT_FALSE(d.session().transaction().active);
  EXPECT_LE(d.session().transaction().message.size(), 100u);
}

TEST_P(DataTest, MessageTextStopsGrowingPastTheLimit) {
  auto options = defaultOptions();
  options.limits.message_size = 1000;
  auto& d = inData(options);
  for (int i = 0; i < 100; ++i)
    d.send(std::string(98, 'y') + "\r\n");
  EXPECT_LE(d.session().transaction().message.size(), 1000u);
  EXPECT_EQ(d.session().transaction().size, 10000u);
}

TEST_P(DataTest, TextLineOf998IsAcceptedAnd999Refused) {
  const std::string line998(998, 'a');
  EXPECT_EQ(deliver(line998 + "\r\n.\r\n").first, kOk);
  // A transparency dot does not count (RFC 5321 4.5.3.1.6).
  EXPECT_EQ(deliver("." + line998 + "\r\n.\r\n").first, kOk);
  auto& d = inData();
  d.send(line998 + "b\r\nnext\r\n");
  EXPECT_TRUE(d.take().empty());
  d.send(".\r\n");
  EXPECT_EQ(d.take(), Replies{"500 5.5.2 Error: message line longer than 998 octets"});
  EXPECT_TRUE(d.deliveries().empty());
}

TEST_P(DataTest, HugeDataLineIsDiscardedNotBuffered) {
  auto& d = inData();
  const std::string huge(200000, 'z');
  d.send(huge);
  EXPECT_LE(d.session().bufferedInput(), 1000u);
  d.send("\r\n.\r\n");
  EXPECT_EQ(d.take(), Replies{"500 5.5.2 Error: message line longer than 998 octets"});
}

TEST_P(DataTest, BareLinefeedIsNormalizedByDefault) {
  const auto [replies, message] =
      deliver("line1\nMAIL FROM:<x@evil.example>\nRCPT TO:<y@example.com>\nDATA\nend\r\n.\r\n");
  EXPECT_EQ(replies, kOk);
  EXPECT_EQ(message,
            "line1\r\nMAIL FROM:<x@evil.example>\r\nRCPT TO:<y@example.com>\r\nDATA\r\nend\r\n");
}

TEST_P(DataTest, BareLinefeedDotIsNotTheEnd) {
  auto& d = inData();
  d.send("a\n.\nMAIL FROM:<x@evil.example>\r\n");
  EXPECT_TRUE(d.take().empty());
  EXPECT_TRUE(d.session().inData());
  d.send(".\r\n");
  EXPECT_EQ(d.take(), kOk);
  EXPECT_EQ(d.stageCount(Stage::Mail), 1u);
  EXPECT_EQ(d.deliveries()[0].message, "a\r\n\r\nMAIL FROM:<x@evil.example>\r\n");
}

TEST_P(DataTest, BareCarriageReturnIsNormalized) {
  const auto [replies, message] = deliver("a\rb\r\r\n.\r\n");
  EXPECT_EQ(replies, kOk);
  EXPECT_EQ(message, "a\r\nb\r\n");
}

TEST_P(DataTest, BareLinefeedIsRejectedUnderReject) {
  auto options = defaultOptions();
  options.reject_bare_linefeed = true;
  auto& d = inData(options);
  d.send("line1\nMAIL FROM:<x@evil.example>\nend\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(d.take(), (Replies{"550 5.5.2 Error: bare <CR> or <LF> received", "250 2.0.0 Ok"}));
  EXPECT_TRUE(d.deliveries().empty());
  EXPECT_EQ(d.stageCount(Stage::Mail), 1u);
}

TEST_P(DataTest, BareCarriageReturnIsRejectedUnderReject) {
  auto options = defaultOptions();
  options.reject_bare_linefeed = true;
  EXPECT_EQ(deliver("a\rb\r\n.\r\n", options).first,
            Replies{"550 5.5.2 Error: bare <CR> or <LF> received"});
}

TEST_P(DataTest, CleanMessagePassesUnderReject) {
  auto options = defaultOptions();
  options.reject_bare_linefeed = true;
  EXPECT_EQ(deliver("clean\r\n.\r\n", options).first, kOk);
}

TEST_P(DataTest, BareLinefeedFlagDoesNotLeakIntoTheNextMessage) {
  auto options = defaultOptions();
  options.reject_bare_linefeed = true;
  auto& d = inData(options);
  d.send("bad\nline\r\n.\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
  d.take();
  d.send("good\r\n.\r\n");
  EXPECT_EQ(d.take(), kOk);
}

TEST_P(DataTest, DataStageRefusal) {
  auto& d = inTransaction();
  d.script(Stage::Data, makeReply(554, "5.7.1", "Not now"));
  d.send("DATA\r\n");
  EXPECT_EQ(d.take(), Replies{"554 5.7.1 Not now"});
  EXPECT_FALSE(d.session().inData());
  d.send("hello\r\n");  // not data: a command
  EXPECT_EQ(d.take(), Replies{"500 5.5.2 Error: command not recognized"});
  d.send("RSET\r\nMAIL FROM:<a@example.com>\r\n");
  EXPECT_EQ(d.take(), (Replies{"250 2.0.0 Ok", "250 2.1.0 Ok"}));
}

TEST_P(DataTest, EndOfDataRefusal) {
  auto& d = inData();
  d.script(Stage::EndOfData, makeReply(550, "5.7.1", "Message looks like spam"));
  d.send("spam\r\n.\r\nRCPT TO:<b@example.com>\r\n");
  EXPECT_EQ(d.take(),
            (Replies{"550 5.7.1 Message looks like spam", "503 5.5.1 Error: need MAIL command"}));
  ASSERT_EQ(d.deliveries().size(), 1u);
  EXPECT_EQ(d.deliveries()[0].message, "spam\r\n");
}

TEST_P(DataTest, EndOfDataWithoutAReplyIsATempfail) {
  auto& d = inData();
  d.script(Stage::EndOfData, StageResult{});
  d.send(".\r\n");
  EXPECT_EQ(d.take(), Replies{"451 4.3.0 Error: internal error"});
}

TEST_P(DataTest, EndOfDataWaitsForTheStage) {
  auto& d = inData();
  d.hold(Stage::EndOfData);
  d.send("x\r\n.\r\nNOOP\r\n");
  EXPECT_TRUE(d.session().waiting());
  EXPECT_TRUE(d.take().empty());
  d.resume(StageResult{makeReply(250, "2.0.0", "Ok: queued as ABC")});
  EXPECT_EQ(d.take(), (Replies{"250 2.0.0 Ok: queued as ABC", "250 2.0.0 Ok"}));
}

TEST_P(DataTest, PipeliningAfterDataWhileTheStageRunsCloses) {
  auto& d = inTransaction();
  d.hold(Stage::Data);
  d.send("DATA\r\n");
  d.send("MAIL FROM:<smuggled@evil.example>\r\n");
  d.resume();
  EXPECT_EQ(d.take(), Replies{"554 5.5.0 Error: improper command pipelining after DATA"});
  EXPECT_TRUE(d.closed());
  EXPECT_EQ(d.stageCount(Stage::Mail), 1u);
}

INSTANTIATE_TEST_SUITE_P(Feeds, DataTest, ::testing::Values(Feed::Whole, Feed::Bytewise), feedName);

// Only a whole write can carry content in the same segment as DATA.
TEST(DataWholeTest, ContentInTheSameWriteAsDataCloses) {
  Driver d(defaultOptions(), Feed::Whole);
  d.start();
  d.send(
      "EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
      "DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n");
  const auto replies = d.take();
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(replies[4], "554 5.5.0 Error: improper command pipelining after DATA");
  EXPECT_TRUE(d.closed());
  EXPECT_TRUE(d.deliveries().empty());
}

}  // namespace
}  // namespace spamgate::smtp::test
