#include <gtest/gtest.h>

#include "mime/detail.h"
#include "mime/message.h"
#include "test_util.h"

namespace spamgate::mime {
namespace {

using test::contains;
using test::crlf;

std::string textPart(std::string_view charset, std::string_view cte, std::string_view body) {
  return crlf("Content-Type: text/plain; charset=\"" + std::string(charset) +
              "\"\nContent-Transfer-Encoding: " + std::string(cte) + "\n\n" + std::string(body) +
              "\n");
}

TEST(MimeCharset, LegacyCharsetsToUtf8) {
  EXPECT_EQ(parseMessage(textPart("ISO-8859-1", "8bit", "gr\xFC\xDF")).rawbody,
            "gr\xC3\xBC\xC3\x9F\n");
  EXPECT_EQ(parseMessage(textPart("windows-1252", "quoted-printable", "=80 =93x=94")).rawbody,
            "\xE2\x82\xAC \xE2\x80\x9Cx\xE2\x80\x9D\n");
  EXPECT_EQ(parseMessage(textPart("koi8-r", "8bit", "\xF0\xD2\xC9\xD7\xC5\xD4")).rawbody,
            "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82\n");
}

TEST(MimeCharset, Utf16WithBom) {
  // "Hi é" + CRLF in UTF-16LE with BOM, base64.
  const Message m = parseMessage(textPart("utf-16", "base64", "//5IAGkAIADpAA0ACgA="));
  EXPECT_EQ(m.rawbody, "Hi \xC3\xA9\n");
  EXPECT_EQ(m.stats.decode_errors, 0u);
}

TEST(MimeCharset, UnknownCharsetFallsBackAndCounts) {
  const Message m = parseMessage(textPart("x-no-such-charset", "8bit", "plain and caf\xE9"));
  EXPECT_EQ(m.rawbody, "plain and caf\xC3\xA9\n");  // not UTF-8: taken as windows-1252
  EXPECT_EQ(m.stats.decode_errors, 1u);
}

TEST(MimeCharset, UndeclaredEightBit) {
  EXPECT_EQ(parseMessage(textPart("us-ascii", "8bit", "\xC3\xA9t\xC3\xA9")).rawbody,
            "\xC3\xA9t\xC3\xA9\n");  // valid UTF-8 stays
  EXPECT_EQ(parseMessage(textPart("us-ascii", "8bit", "\x93q\x94")).rawbody,
            "\xE2\x80\x9Cq\xE2\x80\x9D\n");
}

TEST(MimeCharset, InvalidBytesReplacedNeverFatal) {
  bool error = false;
  EXPECT_EQ(detail::toUtf8("a\xFF"
                           "b",
                           "utf-8", error),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_TRUE(error);
  error = false;
  // A truncated Shift_JIS double-byte character at the end.
  EXPECT_EQ(detail::toUtf8("ok\x82", "shift_jis", error), "ok\xEF\xBF\xBD");
  EXPECT_TRUE(error);
  error = false;
  EXPECT_EQ(detail::toUtf8(std::string_view("a\0b", 3), "utf-8", error),
            "a\xEF\xBF\xBD"
            "b");
}

TEST(MimeCharset, Utf8Helpers) {
  EXPECT_TRUE(detail::isValidUtf8("\xE2\x82\xAC"));
  EXPECT_FALSE(detail::isValidUtf8("\xC0\x80"));          // overlong NUL
  EXPECT_FALSE(detail::isValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(detail::isValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_EQ(detail::utf8Cut("a\xE2\x82\xAC", 3), 1u);
  EXPECT_EQ(detail::utf8Cut("a\xE2\x82\xAC", 4), 4u);
  EXPECT_EQ(detail::utf8Cut("abc", 2), 2u);
}

}  // namespace
}  // namespace spamgate::mime
