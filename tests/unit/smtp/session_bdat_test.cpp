// ServerSession BDAT (RFC 3030 CHUNKING): chunks are octets, never lines, and every chunk is
// consumed even when refused. Whole and byte-wise.
#include <gtest/gtest.h>

#include <string>

#include "driver.h"

namespace spamgate::smtp::test {
namespace {

class BdatTest : public SessionTest {};

const Replies kOk{"250 2.0.0 Ok"};
const std::string kChunk = "250 2.0.0 Chunk received";

TEST_P(BdatTest, SingleLastChunk) {
  auto& d = inTransaction();
  d.send("BDAT 14 LAST\r\nHello, world!\n");
  EXPECT_EQ(d.take(), kOk);
  ASSERT_EQ(d.deliveries().size(), 1u);
  EXPECT_EQ(d.deliveries()[0].message, "Hello, world!\r\n");
  EXPECT_EQ(d.stageCount(Stage::Data), 1u);
  EXPECT_EQ(d.stageCount(Stage::EndOfData), 1u);
  EXPECT_FALSE(d.session().transaction().active);
}

TEST_P(BdatTest, LinesAreHeldToTheTextLineLimit) {
  auto options = defaultOptions();
  options.limits.text_line = 10;
  auto& d = inTransaction(options);
  d.send("BDAT 12 LAST\r\n0123456789\r\n");
  EXPECT_EQ(d.take(), kOk);
  d.send("MAIL FROM:<>\r\nRCPT TO:<x@example.com>\r\nBDAT 13 LAST\r\n01234567890\r\n");
  EXPECT_EQ(d.take(), (Replies{"250 2.1.0 Ok", "250 2.1.5 Ok",
                               "500 5.5.2 Error: message line longer than 10 octets"}));
  EXPECT_EQ(d.deliveries().size(), 1u);
}

TEST_P(BdatTest, NulOctetsAreDropped) {
  auto& d = inTransaction();
  d.send(std::string("BDAT 6 LAST\r\na\0b\r\nc", 19));
  EXPECT_EQ(d.take(), kOk);
  ASSERT_EQ(d.deliveries().size(), 1u);
  EXPECT_EQ(d.deliveries()[0].message, "ab\r\nc\r\n");
}

TEST_P(BdatTest, MessageWithoutFinalLineBreakGetsOne) {
  auto& d = inTransaction();
  d.send("BDAT 5 LAST\r\nHello");
  EXPECT_EQ(d.take(), kOk);
  EXPECT_EQ(d.deliveries()[0].message, "Hello\r\n");
}

TEST_P(BdatTest, SeveralChunks) {
  auto& d = inTransaction();
  d.send("BDAT 8\r\nSubject:");
  d.send("BDAT 4\r\n x\r\n");
  d.send("BDAT 8 last\r\n\r\nbody\r\n");
  EXPECT_EQ(d.take(), (Replies{kChunk, kChunk, "250 2.0.0 Ok"}));
  EXPECT_EQ(d.stageCount(Stage::Data), 1u);  // asked once, at the first chunk
  EXPECT_EQ(d.deliveries()[0].message, "Subject: x\r\n\r\nbody\r\n");
}

TEST_P(BdatTest, ChunksMayBePipelined) {
  auto& d = inTransaction();
  d.send("BDAT 3\r\nabcBDAT 3\r\ndefBDAT 2 LAST\r\n\r\nQUIT\r\n");
  EXPECT_EQ(d.take(), (Replies{kChunk, kChunk, "250 2.0.0 Ok", "221 2.0.0 Bye"}));
  EXPECT_EQ(d.deliveries()[0].message, "abcdef\r\n");
}

TEST_P(BdatTest, ZeroLastEndsTheMessage) {
  auto& d = inTransaction();
  d.send("BDAT 7\r\nabc\r\nde");
  d.send("BDAT 0 LAST\r\n");
  EXPECT_EQ(d.take(), (Replies{kChunk, "250 2.0.0 Ok"}));
  EXPECT_EQ(d.deliveries()[0].message, "abc\r\nde\r\n");
}

TEST_P(BdatTest, DotLinesAreTakenLiterally) {
  auto& d = inTransaction();
  const std::string content = "line1\r\n.\r\n..line2\r\nMAIL FROM:<x@evil.example>\r\n";
  d.send("BDAT " + std::to_string(content.size()) + " LAST\r\n" + content);
  EXPECT_EQ(d.take(), kOk);
  EXPECT_EQ(d.deliveries()[0].message, content);
  EXPECT_EQ(d.stageCount(Stage::Mail), 1u);
}

TEST_P(BdatTest, DataAfterBdatIsRefused) {
  auto& d = inTransaction();
  d.send("BDAT 5\r\n.....DATA\r\nRCPT TO:<b@example.com>\r\n");
  EXPECT_EQ(d.take(), (Replies{kChunk, "503 5.5.1 Error: DATA after BDAT",
                               "503 5.5.1 Error: BDAT in progress"}));
  d.send("RSET\r\nMAIL FROM:<a@example.com>\r\n");
  EXPECT_EQ(d.take(), (Replies{"250 2.0.0 Ok", "250 2.1.0 Ok"}));
}

TEST_P(BdatTest, WithoutMailTheChunkIsStillConsumed) {
  auto& d = ready();
  d.send("BDAT 12\r\nQUIT\r\nRSET\r\nNOOP\r\n");
  EXPECT_EQ(d.take(), (Replies{"503 5.5.1 Error: need MAIL command", "250 2.0.0 Ok"}));
  EXPECT_FALSE(d.closed());
  EXPECT_EQ(d.stageCount(Stage::Data), 0u);
}

TEST_P(BdatTest, WithoutAcceptedRecipientsTheChunkIsConsumed) {
  auto& d = ready();
  d.script(Stage::Rcpt, makeReply(550, "5.1.1", "User unknown"));
  d.send(
      "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nBDAT 6 LAST\r\nQUIT\r\n"
      "NOOP\r\n");
  EXPECT_EQ(d.take(), (Replies{"250 2.1.0 Ok", "550 5.1.1 User unknown",
                               "554 5.5.1 Error: no valid recipients", "250 2.0.0 Ok"}));
  EXPECT_FALSE(d.session().transaction().active);
}

TEST_P(BdatTest, DataStageRefusalConsumesTheChunk) {
  auto& d = inTransaction();
  d.script(Stage::Data, makeReply(554, "5.7.1", "No thanks"));
  d.send("BDAT 6\r\nQUIT\r\nNOOP\r\n");
  EXPECT_EQ(d.take(), (Replies{"554 5.7.1 No thanks", "250 2.0.0 Ok"}));
  EXPECT_FALSE(d.session().transaction().active);
  EXPECT_TRUE(d.session().transaction().message.empty());
}

TEST_P(BdatTest, ChunkOverTheSizeLimitIsConsumedAndRefused) {
  auto options = defaultOptions();
  options.limits.message_size = 10;
  auto& d = inTransaction(options);
  d.send("BDAT 6\r\n123456BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n");
  EXPECT_EQ(d.take(),
            (Replies{kChunk, "552 5.3.4 Message size exceeds fixed limit", "250 2.0.0 Ok"}));
  EXPECT_TRUE(d.deliveries().empty());
  EXPECT_FALSE(d.session().transaction().active);
}

TEST_P(BdatTest, HugeChunkSizeCannotWrapTheLimit) {
  auto options = defaultOptions();
  options.limits.message_size = 100;
  auto& d = inTransaction(options);
  d.send("BDAT 10\r\n0123456789");
  EXPECT_EQ(d.take(), Replies{kChunk});
  d.send("BDAT 18446744073709551615\r\n");  // 10 + (2^64 - 1) wraps to 9
  d.send(std::string(5000, 'x'));
  EXPECT_TRUE(d.session().inData());
  EXPECT_LE(d.session().transaction().message.size(), 100u);
  EXPECT_EQ(d.session().transaction().size, 10u);
}

TEST_P(BdatTest, ChunkSizeOverflowIsASyntaxError) {
  auto& d = inTransaction();
  d.send("BDAT 18446744073709551616\r\nNOOP\r\n");
  EXPECT_EQ(d.take(), Replies{"501 5.5.4 Syntax: BDAT size [LAST]"});
  EXPECT_TRUE(d.closed());
}

TEST_P(BdatTest, BadSyntaxCloses) {
  for (const char* line : {"BDAT abc\r\n", "BDAT 10 NOTLAST\r\n", "BDAT -1\r\n", "BDAT\r\n",
                           "BDAT 10 LAST extra\r\n", "BDAT +5\r\n"}) {
    auto& d = inTransaction();
    d.send(std::string(line) + "NOOP\r\n");
    EXPECT_EQ(d.take(), Replies{"501 5.5.4 Syntax: BDAT size [LAST]"}) << line;
    EXPECT_TRUE(d.closed()) << line;
  }
}

TEST_P(BdatTest, BareLinefeedsAreNormalized) {
  auto& d = inTransaction();
  d.send("BDAT 8 LAST\r\na\nb\rc\r\nd");
  EXPECT_EQ(d.take(), kOk);
  EXPECT_EQ(d.deliveries()[0].message, "a\r\nb\r\nc\r\nd\r\n");
}

TEST_P(BdatTest, BareLinefeedsAreRefusedUnderReject) {
  auto options = defaultOptions();
  options.reject_bare_linefeed = true;
  auto& d = inTransaction(options);
  d.send("BDAT 4 LAST\r\na\nb\n");
  EXPECT_EQ(d.take(), Replies{"550 5.5.2 Error: bare <CR> or <LF> received"});
  EXPECT_TRUE(d.deliveries().empty());
}

TEST_P(BdatTest, DataStageWaitsAndChunkBytesWait) {
  auto& d = inTransaction();
  d.hold(Stage::Data);
  d.send("BDAT 4 LAST\r\nabcd");
  EXPECT_TRUE(d.session().waiting());
  EXPECT_TRUE(d.take().empty());
  d.resume();
  EXPECT_EQ(d.take(), kOk);
  EXPECT_EQ(d.deliveries()[0].message, "abcd\r\n");
}

INSTANTIATE_TEST_SUITE_P(Feeds, BdatTest, ::testing::Values(Feed::Whole, Feed::Bytewise), feedName);

}  // namespace
}  // namespace spamgate::smtp::test
