// The test parser must be strict, or the tests that use it to validate the writer prove
// nothing: it rejects what RFC 8259 and RFC 3629 reject.
#include <gtest/gtest.h>

#include "json_parse.h"

namespace spamgate::testing {
namespace {

bool valid(std::string_view text) {
  return JsonParser::parse(text).has_value();
}

TEST(JsonParserTest, AcceptsValidDocuments) {
  EXPECT_TRUE(valid(R"({"a":[1,-2.5e3,0.25,true,false,null,"x\"\\\/\b\f\n\r\t\u00e9"],"b":{}})"));
  EXPECT_TRUE(valid(" [ ] "));
  EXPECT_TRUE(valid("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""));
  EXPECT_TRUE(valid(R"("\ud83d\ude00")"));
  const auto v = JsonParser::parse(R"({"k":"a\u0001\ud83d\ude00","n":12})");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->at("k").text, "a\x01\xf0\x9f\x98\x80");
  EXPECT_EQ(v->at("n").number, 12);
}

TEST(JsonParserTest, RejectsGrammarViolations) {
  for (const char* bad :
       {"",    "{",         "{\"a\":1,}", "[1,]",        "{\"a\" 1}",   "{a:1}", "nan",   "NaN",
        "inf", "-inf",      "01",         "1.",          ".5",          "+1",    "\"abc", "[1] x",
        "'a'", "\"\\x41\"", "\"\\u12\"",  "\"\\ud800\"", "\"\\udc00\"", "truee"}) {
    EXPECT_FALSE(valid(bad)) << bad;
  }
}

TEST(JsonParserTest, RejectsRawControlCharacters) {
  EXPECT_FALSE(valid(std::string("\"a\x01z\"")));
  EXPECT_FALSE(valid(std::string("\"a\nz\"")));
  EXPECT_FALSE(valid(std::string("\"a\0z\"", 5)));
}

TEST(JsonParserTest, RejectsIllFormedUtf8) {
  for (const char* bad :
       {"\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", "\xc3", "\xc3(", "\xe0\x80\xaf", "\xe0\x9f\xbf",
        "\xed\xa0\x80", "\xed\xbf\xbf", "\xef\xbf", "\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf",
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff"}) {
    EXPECT_FALSE(valid("\"" + std::string(bad) + "\"")) << ::testing::PrintToString(bad);
  }
  // The edges that are allowed.
  for (const char* good :
       {"\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
        "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"}) {
    EXPECT_TRUE(valid("\"" + std::string(good) + "\"")) << ::testing::PrintToString(good);
  }
}

}  // namespace
}  // namespace spamgate::testing
