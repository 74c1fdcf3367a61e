#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "mime/detail.h"
#include "mime/message.h"
#include "test_util.h"

namespace spamgate::mime {
namespace {

using test::contains;
using test::crlf;

std::string nestedMultiparts(int depth) {
  std::string raw = "Subject: deep\r\n";
  for (int i = 0; i < depth; ++i) {
    raw += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" +
           std::to_string(i) + "\r\n";
  }
  raw += "Content-Type: text/plain\r\n\r\ninnermost text\r\n";
  return raw;
}

std::string manyParts(int parts) {
  std::string raw = "Content-Type: multipart/mixed; boundary=x\r\n\r\n";
  for (int i = 0; i < parts; ++i)
    raw += "--x\r\nContent-Type: text/plain\r\n\r\npart\r\n";
  return raw + "--x--\r\n";
}

double secondsFor(const std::string& raw, const Limits& limits = {}) {
  const auto start = std::chrono::steady_clock::now();
  const Message m = parseMessage(raw, limits);
  EXPECT_TRUE(m.stats.truncated);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(MimeHostile, NestingPastTheDepthLimit) {
  Limits limits;
  limits.max_depth = 5;
  const Message shallow = parseMessage(nestedMultiparts(4), limits);
  EXPECT_FALSE(shallow.stats.truncated);
  EXPECT_TRUE(contains(shallow.body, "innermost text"));
  const Message deep = parseMessage(nestedMultiparts(6), limits);
  EXPECT_TRUE(deep.stats.truncated);
  EXPECT_EQ(deep.stats.depth, 5u);
  EXPECT_FALSE(contains(deep.body, "innermost text"));
}

TEST(MimeHostile, ThousandsDeepIsBoundedAndFast) {
  EXPECT_LT(secondsFor(nestedMultiparts(1000)), 2.0);
  EXPECT_LT(secondsFor(nestedMultiparts(100000)), 2.0);
}

TEST(MimeHostile, NestedAttachedMessages) {
  std::string raw;
  for (int i = 0; i < 50000; ++i)
    raw += "Content-Type: message/rfc822\r\n\r\n";
  raw += "Subject: x\r\n\r\nbottom\r\n";
  EXPECT_LT(secondsFor(raw), 2.0);
}

TEST(MimeHostile, PartLimit) {
  Limits limits;
  limits.max_parts = 10;
  const Message m = parseMessage(manyParts(11), limits);
  EXPECT_EQ(m.stats.parts, 10u);
  EXPECT_TRUE(m.stats.truncated);
  EXPECT_FALSE(parseMessage(manyParts(10), limits).stats.truncated);
  EXPECT_LT(secondsFor(manyParts(100000)), 2.0);
}

TEST(MimeHostile, TextLimitCutsOnACharacter) {
  Limits limits;
  limits.max_text_bytes = 100;
  const std::string text(60, 'a');
  const Message m = parseMessage(
      "Content-Type: text/plain; charset=utf-8\n\n" + text + "\xC3\xA9" + text, limits);
  EXPECT_TRUE(m.stats.truncated);
  EXPECT_LE(m.rawbody.size(), 100u);
  EXPECT_LE(m.body.size(), 100u);
  EXPECT_TRUE(detail::isValidUtf8(m.rawbody));
  EXPECT_FALSE(parseMessage("\n" + text).stats.truncated);
}

std::string numberedLines(const std::string& tag, int lines) {
  std::string out;
  for (int i = 0; i < lines; ++i)
    out += tag + " line " + std::to_string(i) + " of the text\n";
  return out;
}

TEST(MimeHostile, EachPartIsCutToItsScanSize) {
  Limits limits;
  limits.body_part_scan_bytes = 1000;
  limits.rawbody_part_scan_bytes = 3000;
  const std::string first = numberedLines("first", 200);  // about 5 KB, one paragraph
  const std::string second = numberedLines("second", 200);
  const Message m = parseMessage(
      "Content-Type: multipart/mixed; boundary=x\n\n--x\n"
      "Content-Type: text/plain\n\n" +
          first + "--x\nContent-Type: text/plain\n\n" + second + "--x--\n",
      limits);
  EXPECT_TRUE(m.stats.truncated);
  // Each part gets its own share: the second part's start is there, both parts' ends are not.
  EXPECT_TRUE(contains(m.body, "first line 0 of"));
  EXPECT_TRUE(contains(m.body, "second line 0 of"));
  EXPECT_FALSE(contains(m.body, "first line 199 "));
  EXPECT_FALSE(contains(m.body, "second line 199 "));
  EXPECT_TRUE(contains(m.rawbody, "second line 0 of the text\n"));
  EXPECT_FALSE(contains(m.rawbody, "second line 199 "));
  // body: one paragraph per part, cut just after a space, the line ended; rawbody: cut just
  // after a line break.
  const std::size_t body_first = m.body.find("second line 0 ");
  EXPECT_GE(body_first, 1000u);
  EXPECT_LE(body_first, 1000u + 1024u + 2u);
  EXPECT_EQ(m.body.substr(body_first - 2, 2), " \n");
  const std::size_t raw_first = m.rawbody.find("second line 0 ");
  EXPECT_GE(raw_first, 3000u);
  EXPECT_LE(raw_first, 3000u + 1024u + 2u);
  EXPECT_EQ(m.rawbody.substr(raw_first - 2, 2), "\n\n");  // the cut line end, then the joint
}

TEST(MimeHostile, PartScanSizeDefaultsAndDisabling) {
  const std::string word(60000, 'a');  // no line break or space to cut at
  const std::string raw = "Content-Type: text/plain\n\n" + word + "\n";
  const Message m = parseMessage(raw);
  EXPECT_TRUE(m.stats.truncated);
  EXPECT_EQ(m.body, std::string(50000, 'a') + "\n");  // SpamAssassin's body_part_scan_size
  EXPECT_TRUE(contains(m.rawbody, word));             // under rawbody_part_scan_size
  Limits off;
  off.body_part_scan_bytes = 0;
  off.rawbody_part_scan_bytes = 0;
  const Message whole = parseMessage(raw, off);
  EXPECT_FALSE(whole.stats.truncated);
  EXPECT_EQ(whole.body, word + "\n");
}

TEST(MimeHostile, BrokenBoundaries) {
  const Message m = parseMessage(crlf(R"(Content-Type: multipart/mixed; boundary="never"

--nevermind
Content-Type: text/plain

text after a wrong delimiter
--never
Content-Type: text/plain

unterminated last part)"));
  EXPECT_TRUE(contains(m.rawbody, "unterminated last part"));
  const Message empty_boundary =
      parseMessage("Content-Type: multipart/mixed; boundary=\"\"\n\n--\n\n");
  EXPECT_TRUE(detail::isValidUtf8(empty_boundary.rawbody));
  const Message no_boundary = parseMessage("Content-Type: multipart/mixed\n\n--x\n\nhi\n");
  EXPECT_TRUE(detail::isValidUtf8(no_boundary.body));
}

TEST(MimeHostile, RandomBytesGiveValidUtf8) {
  std::mt19937 random(12345);
  const std::string_view tokens[] = {"\r\n",
                                     "--b\r\n",
                                     "Content-Type: multipart/mixed; boundary=b\r\n",
                                     "Content-Type: text/html; charset=koi8-r\r\n",
                                     "Content-Transfer-Encoding: base64\r\n",
                                     "Content-Type: message/rfc822\r\n",
                                     "=?utf-8?b?",
                                     "?=",
                                     "<a href=",
                                     "&#x",
                                     "<script>",
                                     ";"};
  for (int round = 0; round < 300; ++round) {
    std::string raw;
    for (int i = 0; i < 200; ++i) {
      if (random() % 3 == 0) {
        raw += tokens[random() % std::size(tokens)];
      } else {
        raw += static_cast<char>(random() % 256);
      }
    }
    const Message m = parseMessage(raw);
    ASSERT_TRUE(detail::isValidUtf8(m.body));
    ASSERT_TRUE(detail::isValidUtf8(m.rawbody));
    for (const Header& header : m.headers)
      ASSERT_TRUE(detail::isValidUtf8(header.decoded));
    for (const std::string& uri : m.uris)
      ASSERT_TRUE(detail::isValidUtf8(uri));
  }
}

TEST(MimeHostile, EmptyAndHeaderOnly) {
  EXPECT_TRUE(parseMessage("").body.empty());
  const Message m = parseMessage("Subject: only");
  ASSERT_EQ(m.headers.size(), 1u);
  EXPECT_EQ(m.body, "only\n");
  EXPECT_TRUE(m.rawbody.empty());
}

}  // namespace
}  // namespace spamgate::mime
