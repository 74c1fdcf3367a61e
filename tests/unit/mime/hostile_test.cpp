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
