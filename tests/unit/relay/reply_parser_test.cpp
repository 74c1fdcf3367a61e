#include "relay/reply_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace spamgate::relay {
namespace {

struct Parsed {
  std::vector<smtp::Reply> replies;
  bool error = false;
  std::string why;
};

// Feeds `input` whole or one byte at a time and collects what comes out.
Parsed parse(std::string_view input, bool bytewise) {
  Parsed out;
  ReplyParser parser;
  auto run = [&](std::string_view chunk) {
    while (!chunk.empty()) {
      auto status = parser.feed(chunk);
      if (status == ReplyParser::Status::Complete) out.replies.push_back(parser.take());
      if (status == ReplyParser::Status::Error) {
        out.error = true;
        out.why = parser.error();
        return false;
      }
    }
    return true;
  };
  if (!bytewise) {
    run(input);
    return out;
  }
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (!run(input.substr(i, 1))) break;
  }
  return out;
}

class RelayReplyParser : public ::testing::TestWithParam<bool> {};

TEST_P(RelayReplyParser, SingleLineWithEnhancedCode) {
  auto p = parse("250 2.1.0 Ok\r\n", GetParam());
  ASSERT_EQ(p.replies.size(), 1u);
  EXPECT_EQ(p.replies[0].code, 250);
  EXPECT_EQ(p.replies[0].enhanced, "2.1.0");
  EXPECT_EQ(p.replies[0].text, "Ok");
}

TEST_P(RelayReplyParser, MultiLineEhlo) {
  auto p =
      parse("250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n", GetParam());
  ASSERT_EQ(p.replies.size(), 1u);
  EXPECT_EQ(p.replies[0].enhanced, "");
  EXPECT_EQ(p.replies[0].text, "mx.example\nPIPELINING\nSIZE 1000\n8BITMIME");
}

TEST_P(RelayReplyParser, EnhancedCodeStrippedFromEveryLine) {
  auto p = parse("550-5.7.1 Rejected\r\n550-5.7.1 see https://x\r\n550 5.7.1 bye\r\n", GetParam());
  ASSERT_EQ(p.replies.size(), 1u);
  EXPECT_EQ(p.replies[0].enhanced, "5.7.1");
  EXPECT_EQ(p.replies[0].text, "Rejected\nsee https://x\nbye");
}

TEST_P(RelayReplyParser, BareCodeAndEmptyLastLine) {
  auto p = parse("250\r\n250-a\r\n250 \r\n", GetParam());
  ASSERT_EQ(p.replies.size(), 2u);
  EXPECT_EQ(p.replies[0].code, 250);
  EXPECT_EQ(p.replies[0].text, "");
  EXPECT_EQ(p.replies[1].text, "a\n");
}

TEST_P(RelayReplyParser, SeveralRepliesInOneChunkAndBareLf) {
  auto p = parse("250 2.1.0 Ok\n250 2.1.5 Ok\r\n354 go ahead\r\n", GetParam());
  ASSERT_EQ(p.replies.size(), 3u);
  EXPECT_EQ(p.replies[1].enhanced, "2.1.5");
  EXPECT_EQ(p.replies[2].code, 354);
  EXPECT_EQ(p.replies[2].text, "go ahead");
}

TEST_P(RelayReplyParser, IncompleteReplyWaits) {
  auto p = parse("250-first\r\n250 sec", GetParam());
  EXPECT_TRUE(p.replies.empty());
  EXPECT_FALSE(p.error);
}

TEST_P(RelayReplyParser, GarbageIsAnError) {
  EXPECT_TRUE(parse("hello there\r\n", GetParam()).error);
  EXPECT_TRUE(parse("25\r\n", GetParam()).error);
  EXPECT_TRUE(parse("2500 x\r\n", GetParam()).error);
  EXPECT_TRUE(parse("199 x\r\n", GetParam()).error);
  EXPECT_TRUE(parse("600 x\r\n", GetParam()).error);
  EXPECT_TRUE(parse("260 x\r\n", GetParam()).error);
}

TEST_P(RelayReplyParser, CodeChangeWithinAReplyIsAnError) {
  auto p = parse("250-a\r\n251 b\r\n", GetParam());
  EXPECT_TRUE(p.error);
  EXPECT_NE(p.why.find("changed"), std::string::npos);
}

TEST_P(RelayReplyParser, LineLengthIsBounded) {
  std::string ok = "250 " + std::string(kMaxReplyLine - 4, 'x') + "\r\n";
  EXPECT_EQ(parse(ok, GetParam()).replies.size(), 1u);
  std::string bad = "250 " + std::string(kMaxReplyLine - 3, 'x') + "\r\n";
  EXPECT_TRUE(parse(bad, GetParam()).error);
  // Without any line ending at all: stops at the bound instead of buffering forever.
  std::string endless(kMaxReplyLine * 3, '2');
  EXPECT_TRUE(parse(endless, GetParam()).error);
}

TEST_P(RelayReplyParser, LineCountIsBounded) {
  std::string hundred;
  for (std::size_t i = 0; i + 1 < kMaxReplyLines; ++i)
    hundred += "250-x\r\n";
  EXPECT_EQ(parse(hundred + "250 x\r\n", GetParam()).replies.size(), 1u);
  EXPECT_TRUE(parse(hundred + "250-x\r\n250 x\r\n", GetParam()).error);
}

TEST_P(RelayReplyParser, ErrorIsSticky) {
  ReplyParser parser;
  std::string_view bad = "xyz\r\n";
  EXPECT_EQ(parser.feed(bad), ReplyParser::Status::Error);
  std::string_view good = "250 ok\r\n";
  EXPECT_EQ(parser.feed(good), ReplyParser::Status::Error);
  EXPECT_TRUE(parser.failed());
}

INSTANTIATE_TEST_SUITE_P(WholeAndBytewise, RelayReplyParser, ::testing::Bool());

TEST(RelaySplitEnhanced, Cases) {
  auto [e1, t1] = splitEnhanced(250, "2.1.5 Ok");
  EXPECT_EQ(e1, "2.1.5");
  EXPECT_EQ(t1, "Ok");
  auto [e2, t2] = splitEnhanced(550, "5.7.1");
  EXPECT_EQ(e2, "5.7.1");
  EXPECT_EQ(t2, "");
  EXPECT_EQ(splitEnhanced(550, "4.7.1 x").first, "");     // class mismatch
  EXPECT_EQ(splitEnhanced(250, "2.1.5Ok").first, "");     // no separator
  EXPECT_EQ(splitEnhanced(250, "2.1234.5 x").first, "");  // subject too long
  EXPECT_EQ(splitEnhanced(250, "2..5 x").first, "");
  EXPECT_EQ(splitEnhanced(451, "4.123.456 y").first, "4.123.456");
  EXPECT_EQ(splitEnhanced(250, "Ok 2.1.0").first, "");
}

}  // namespace
}  // namespace spamgate::relay
