// LineReader: framing, CRLF vs bare LF, the length bound, raw reads. Every framing case runs
// whole and one byte at a time and must yield the same lines.
#include "smtp/line_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace spamgate::smtp {
namespace {

struct Got {
  std::string text;
  bool crlf;
  bool overlong;
  bool operator==(const Got&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Got& g) {
  return os << "{\"" << g.text << "\", crlf=" << g.crlf << ", overlong=" << g.overlong << "}";
}

// Feeds `input` in pieces of `step` octets (0: whole), draining lines after each append.
std::vector<Got> frame(std::string_view input, std::size_t limit, std::size_t step,
                       std::size_t* max_buffered = nullptr) {
  LineReader reader;
  std::vector<Got> out;
  if (step == 0) step = input.size();
  for (std::size_t i = 0; i < input.size(); i += step) {
    reader.append(input.substr(i, step));
    while (auto line = reader.next(limit)) {
      out.push_back({std::string(line->text), line->crlf, line->overlong});
    }
    if (max_buffered) *max_buffered = std::max(*max_buffered, reader.buffered());
  }
  return out;
}

class LineReaderFeedTest : public ::testing::TestWithParam<std::size_t> {};

TEST_P(LineReaderFeedTest, CrlfLines) {
  EXPECT_EQ(frame("EHLO x\r\nMAIL FROM:<>\r\n", 100, GetParam()),
            (std::vector<Got>{{"EHLO x", true, false}, {"MAIL FROM:<>", true, false}}));
}

TEST_P(LineReaderFeedTest, EmptyLine) {
  EXPECT_EQ(frame("\r\n\n", 100, GetParam()),
            (std::vector<Got>{{"", true, false}, {"", false, false}}));
}

TEST_P(LineReaderFeedTest, BareLinefeedIsReported) {
  EXPECT_EQ(frame("a\nb\r\n", 100, GetParam()),
            (std::vector<Got>{{"a", false, false}, {"b", true, false}}));
}

TEST_P(LineReaderFeedTest, CarriageReturnElsewhereStaysInTheText) {
  EXPECT_EQ(frame("a\rb\r\r\n\r.\r\n", 100, GetParam()),
            (std::vector<Got>{{"a\rb\r", true, false}, {"\r.", true, false}}));
}

TEST_P(LineReaderFeedTest, IncompleteLineIsNotReturned) {
  EXPECT_EQ(frame("NOOP\r\nQUI", 100, GetParam()), (std::vector<Got>{{"NOOP", true, false}}));
}

TEST_P(LineReaderFeedTest, LimitIsInclusive) {
  EXPECT_EQ(frame("12345\r\n123456\r\nok\r\n", 5, GetParam()),
            (std::vector<Got>{{"12345", true, false}, {"", true, true}, {"ok", true, false}}));
}

TEST_P(LineReaderFeedTest, LimitExcludesTheCarriageReturn) {
  // The CR of a CRLF must not push a line at the limit over it, even when it arrives alone.
  EXPECT_EQ(frame("abcde\r\n", 5, GetParam()), (std::vector<Got>{{"abcde", true, false}}));
  EXPECT_EQ(frame("abcdef\n", 5, GetParam()), (std::vector<Got>{{"", false, true}}));
}

TEST_P(LineReaderFeedTest, OverlongLineIsReportedOnceWithItsTerminator) {
  const std::string longline(10000, 'x');
  std::size_t max_buffered = 0;
  EXPECT_EQ(frame(longline + "\r\n" + longline + "\nnext\r\n", 100, GetParam(), &max_buffered),
            (std::vector<Got>{{"", true, true}, {"", false, true}, {"next", true, false}}));
  EXPECT_LE(max_buffered, 101u);  // the limit and a CR that may start the terminator
}

INSTANTIATE_TEST_SUITE_P(Steps, LineReaderFeedTest, ::testing::Values(0u, 1u, 2u, 3u, 7u),
                         [](const ::testing::TestParamInfo<std::size_t>& step) {
                           return "step" + std::to_string(step.param);
                         });

TEST(LineReaderTest, BufferedStaysSmallWithoutALinefeed) {
  LineReader reader;
  const std::string chunk(65536, 'a');
  for (int i = 0; i < 16; ++i) {  // a megabyte
    reader.append(chunk);
    EXPECT_FALSE(reader.next(510));
    EXPECT_LE(reader.buffered(), 1u);
  }
  reader.append("\r\nNOOP\r\n");
  auto line = reader.next(510);
  ASSERT_TRUE(line);
  EXPECT_TRUE(line->overlong);
  EXPECT_TRUE(line->crlf);
  line = reader.next(510);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "NOOP");
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(LineReaderTest, OverlongLineEndingInCarriageReturnKeepsCrlf) {
  LineReader reader;
  reader.append(std::string(1000, 'a') + "\r");
  EXPECT_FALSE(reader.next(10));
  reader.append("\n");
  auto line = reader.next(10);
  ASSERT_TRUE(line);
  EXPECT_TRUE(line->overlong);
  EXPECT_TRUE(line->crlf);
}

TEST(LineReaderTest, TakeRawReadsOctetsNotLines) {
  LineReader reader;
  reader.append("BDAT 5\r\na\r\n.\r\nNOOP\r\n");
  auto line = reader.next(510);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "BDAT 5");
  std::string out;
  EXPECT_EQ(reader.takeRaw(5, out), 5u);
  EXPECT_EQ(out, "a\r\n.\r");
  EXPECT_EQ(reader.takeRaw(0, out), 0u);
  line = reader.next(510);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "");  // the "\n" left after the chunk
  EXPECT_FALSE(line->crlf);
  line = reader.next(510);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "NOOP");
}

TEST(LineReaderTest, TakeRawTakesOnlyWhatIsBuffered) {
  LineReader reader;
  reader.append("abc");
  std::string out = "x";
  EXPECT_EQ(reader.takeRaw(10, out), 3u);
  EXPECT_EQ(out, "xabc");
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(LineReaderTest, TakeRawAfterAPartialScan) {
  LineReader reader;
  reader.append("abc");
  EXPECT_FALSE(reader.next(100));  // scans "abc"
  std::string out;
  reader.takeRaw(2, out);
  reader.append("\n");
  auto line = reader.next(100);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "c");
}

TEST(LineReaderTest, ClearDropsEverything) {
  LineReader reader;
  reader.append(std::string(5000, 'a'));
  EXPECT_FALSE(reader.next(10));
  reader.clear();
  EXPECT_EQ(reader.buffered(), 0u);
  reader.append("NOOP\r\n");
  auto line = reader.next(10);
  ASSERT_TRUE(line);
  EXPECT_FALSE(line->overlong);  // the discarding state went with clear()
  EXPECT_EQ(line->text, "NOOP");
}

TEST(LineReaderTest, ManyLinesThroughOneReader) {
  LineReader reader;
  std::size_t lines = 0;
  for (int i = 0; i < 20000; ++i) {
    reader.append("RCPT TO:<someone@example.com>\r\nNO");
    reader.append("OP\r\n");
    while (auto line = reader.next(510)) {
      EXPECT_FALSE(line->overlong);
      ++lines;
    }
    EXPECT_EQ(reader.buffered(), 0u);
  }
  EXPECT_EQ(lines, 40000u);
}

}  // namespace
}  // namespace spamgate::smtp
