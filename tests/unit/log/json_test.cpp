// JsonWriter: structure, numbers, and string escaping: quotes, backslashes, control
// characters, invalid UTF-8 to U+FFFD, valid multi-byte sequences kept as they are.
#include "log/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "json_parse.h"

namespace spamgate::log {
namespace {

using spamgate::testing::JsonParser;

const std::string kReplacement = "\xef\xbf\xbd";

std::string oneField(std::string_view value) {
  JsonWriter json;
  json.beginObject().field("s", value).endObject();
  return json.take();
}

// The decoded value of {"s": value} as the strict parser reads the writer's output.
std::string roundTrip(std::string_view value) {
  const auto text = oneField(value);
  std::string error;
  const auto parsed = JsonParser::parse(text, &error);
  EXPECT_TRUE(parsed) << error << " in " << ::testing::PrintToString(text);
  return parsed ? parsed->at("s").text : std::string();
}

// Whether `bytes` is exactly one well-formed UTF-8 sequence, from the definition: decode the
// code point, then reject overlong forms, surrogates and values above U+10FFFF.
bool wellFormedSequence(std::string_view bytes) {
  const auto c = static_cast<unsigned char>(bytes[0]);
  const std::size_t n = c < 0x80         ? 1
                        : c >> 5 == 0x6  ? 2
                        : c >> 4 == 0xe  ? 3
                        : c >> 3 == 0x1e ? 4
                                         : 0;
  if (n != bytes.size()) return false;
  if (n == 1) return true;
  unsigned cp = c & (0x7fu >> n);
  for (std::size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(bytes[k]);
    if ((cc & 0xc0) != 0x80) return false;
    cp = (cp << 6) | (cc & 0x3fu);
  }
  const unsigned minimum = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
  return cp >= minimum && (cp < 0xd800 || cp > 0xdfff) && cp <= 0x10ffff;
}

// What the writer should produce, from first principles: keep each well-formed sequence,
// replace each other octet by U+FFFD.
std::string sanitized(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = 1;
    while (n <= 4 && i + n <= s.size() && !wellFormedSequence(s.substr(i, n)))
      ++n;
    if (n <= 4 && i + n <= s.size()) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

TEST(JsonWriterTest, ObjectsArraysAndCommas) {
  JsonWriter json;
  json.beginObject()
      .field("a", "x")
      .beginObject("o")
      .field("n", 1)
      .field("m", 2)
      .endObject()
      .beginArray("list")
      .beginObject()
      .field("k", "v")
      .endObject()
      .beginObject()
      .endObject()
      .endArray()
      .beginArray("empty")
      .endArray()
      .null("z")
      .endObject();
  EXPECT_EQ(json.take(),
            R"({"a":"x","o":{"n":1,"m":2},"list":[{"k":"v"},{}],"empty":[],"z":null})");
}

TEST(JsonWriterTest, Numbers) {
  JsonWriter json;
  json.beginObject()
      .field("i", std::numeric_limits<int64_t>::min())
      .field("j", std::numeric_limits<int64_t>::max())
      .field("u", std::numeric_limits<uint64_t>::max())
      .field("d", 0.1)
      .field("neg", -2.5)
      .field("big", 1e300)
      .field("t", true)
      .field("f", false)
      .endObject();
  const auto text = json.take();
  EXPECT_EQ(text, R"({"i":-9223372036854775808,"j":9223372036854775807,"u":18446744073709551615,)"
                  R"("d":0.1,"neg":-2.5,"big":1e+300,"t":true,"f":false})");
  EXPECT_TRUE(JsonParser::parse(text));
}

TEST(JsonWriterTest, NonFiniteNumbersBecomeNull) {
  JsonWriter json;
  json.beginObject()
      .field("nan", std::nan(""))
      .field("inf", std::numeric_limits<double>::infinity())
      .field("ninf", -std::numeric_limits<double>::infinity())
      .field("after", 1)
      .endObject();
  const auto text = json.take();
  EXPECT_EQ(text, R"({"nan":null,"inf":null,"ninf":null,"after":1})");
  EXPECT_TRUE(JsonParser::parse(text));
}

TEST(JsonWriterTest, EscapesQuotesAndBackslashes) {
  EXPECT_EQ(oneField(R"(say "hi" \o/)"), R"({"s":"say \"hi\" \\o/"})");
  EXPECT_EQ(roundTrip(R"(say "hi" \o/)"), R"(say "hi" \o/)");
  EXPECT_EQ(roundTrip("\\\""), "\\\"");
}

TEST(JsonWriterTest, KeysAreEscapedToo) {
  JsonWriter json;
  json.beginObject().field("k\"\n", "v").endObject();
  const auto text = json.take();
  EXPECT_EQ(text, R"({"k\"\u000a":"v"})");
  const auto parsed = JsonParser::parse(text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->keys.at(0), "k\"\n");
}

TEST(JsonWriterTest, EscapesEveryControlCharacter) {
  EXPECT_EQ(oneField(std::string("a\0b", 3)), R"({"s":"a\u0000b"})");
  EXPECT_EQ(oneField("\r\n\t\x1b\x7f"), R"({"s":"\u000d\u000a\u0009\u001b\u007f"})");
  for (int c = 0; c < 0x20; ++c) {
    const std::string s(1, static_cast<char>(c));
    EXPECT_EQ(roundTrip(s), s) << c;
  }
  EXPECT_EQ(roundTrip("\x7f"), "\x7f");
}

TEST(JsonWriterTest, KeepsValidMultiByteSequences) {
  const std::string text =
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xed\x9f\xbf";
  EXPECT_EQ(oneField(text), "{\"s\":\"" + text + "\"}");
  EXPECT_EQ(roundTrip(text), text);
}

TEST(JsonWriterTest, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(roundTrip("a\xff"
                      "b"),
            "a" + kReplacement + "b");
  EXPECT_EQ(roundTrip("\xc3("), kReplacement + "(");              // missing continuation
  EXPECT_EQ(roundTrip("ab\xc3"), "ab" + kReplacement);            // truncated at the end
  EXPECT_EQ(roundTrip("\x80\xbf"), kReplacement + kReplacement);  // lone continuations
  EXPECT_EQ(roundTrip("\xc0\xaf"), kReplacement + kReplacement);  // overlong '/'
  EXPECT_EQ(roundTrip("\xe0\x80\xaf"), kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(roundTrip("\xed\xa0\x80"), kReplacement + kReplacement + kReplacement);  // surrogate
  EXPECT_EQ(roundTrip("\xf4\x90\x80\x80"), std::string() + kReplacement + kReplacement +
                                               kReplacement + kReplacement);  // > U+10FFFF
  EXPECT_EQ(roundTrip("\xf5\x80\x80\x80"),
            std::string() + kReplacement + kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(roundTrip("\xf0\x9f\x98\x80\xf0\x9f\x98"),
            "\xf0\x9f\x98\x80" + kReplacement + kReplacement + kReplacement);
}

TEST(JsonWriterTest, EveryTwoOctetStringIsValidAndFaithful) {
  for (unsigned a = 0; a < 256; ++a) {
    for (unsigned b = 0; b < 256; ++b) {
      const std::string s{static_cast<char>(a), static_cast<char>(b)};
      ASSERT_EQ(roundTrip(s), sanitized(s)) << a << " " << b;
    }
  }
}

TEST(JsonWriterTest, LongerSequencesAroundEveryBoundary) {
  std::vector<unsigned> leads;
  for (unsigned c = 0xc0; c < 0x100; ++c)
    leads.push_back(c);
  const std::vector<unsigned> tails = {0x00, 0x22, 0x41, 0x5c, 0x7f, 0x80, 0x8f, 0x90,
                                       0x9f, 0xa0, 0xbf, 0xc0, 0xc3, 0xe0, 0xf0, 0xff};
  for (unsigned a : leads) {
    for (unsigned b : tails) {
      for (unsigned c : tails) {
        for (unsigned d : {0x41u, 0x80u, 0xbfu}) {
          const std::string s{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                              static_cast<char>(d)};
          ASSERT_EQ(roundTrip(s), sanitized(s)) << a << " " << b << " " << c << " " << d;
        }
      }
    }
  }
}

}  // namespace
}  // namespace spamgate::log
