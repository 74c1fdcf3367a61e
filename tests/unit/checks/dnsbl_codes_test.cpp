// DNSBL return-code filters: postscreen's pattern syntax, exact errors naming the pattern.
#include "checks/dnsbl_codes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace spamgate::checks {
namespace {

uint32_t code(const std::string& text) {
  return parseDnsblCode(text).value();
}

std::string parseError(const std::string& pattern) {
  try {
    CodeFilter::parse({pattern});
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(DnsblCodes, ParseAndPrintCodes) {
  EXPECT_EQ(parseDnsblCode("127.0.0.2"), 0x7f000002u);
  EXPECT_EQ(parseDnsblCode("255.255.255.255"), 0xffffffffu);
  EXPECT_EQ(dnsblCodeText(0x7f000002u), "127.0.0.2");
  EXPECT_EQ(dnsblCodeText(0x7fffffffu), "127.255.255.255");
  for (const char* bad :
       {"", "127.0.0", "127.0.0.256", "::1", "127.0.0.2 ", "name.test", "127.0.0.2.1"}) {
    EXPECT_FALSE(parseDnsblCode(bad)) << bad;
  }
  EXPECT_FALSE(parseDnsblCode(std::string("127.0.0.2\0", 10)));
}

TEST(DnsblCodes, EmptyFilter) {
  CodeFilter filter;
  EXPECT_TRUE(filter.empty());
  EXPECT_FALSE(filter.matches(code("127.0.0.2")));
  EXPECT_TRUE(CodeFilter::parse({}).empty());
}

TEST(DnsblCodes, SingleCode) {
  auto filter = CodeFilter::parse({"127.0.0.2"});
  EXPECT_FALSE(filter.empty());
  EXPECT_TRUE(filter.matches(code("127.0.0.2")));
  EXPECT_FALSE(filter.matches(code("127.0.0.3")));
  EXPECT_FALSE(filter.matches(code("127.0.1.2")));
  EXPECT_FALSE(filter.matches(code("126.0.0.2")));
}

TEST(DnsblCodes, Ranges) {
  auto filter = CodeFilter::parse({"127.0.0.[2..11]"});
  EXPECT_FALSE(filter.matches(code("127.0.0.1")));
  EXPECT_TRUE(filter.matches(code("127.0.0.2")));
  EXPECT_TRUE(filter.matches(code("127.0.0.7")));
  EXPECT_TRUE(filter.matches(code("127.0.0.11")));
  EXPECT_FALSE(filter.matches(code("127.0.0.12")));
  auto whole = CodeFilter::parse({"127.[0..255].[0..255].[0..255]"});
  EXPECT_TRUE(whole.matches(code("127.0.0.0")));
  EXPECT_TRUE(whole.matches(code("127.255.255.255")));
  EXPECT_FALSE(whole.matches(code("128.0.0.0")));
  auto one = CodeFilter::parse({"127.0.0.[4..4]"});
  EXPECT_TRUE(one.matches(code("127.0.0.4")));
  EXPECT_FALSE(one.matches(code("127.0.0.5")));
}

TEST(DnsblCodes, ListsAndMixedLists) {
  auto filter = CodeFilter::parse({"127.0.0.[2;4;8]"});
  EXPECT_TRUE(filter.matches(code("127.0.0.2")));
  EXPECT_FALSE(filter.matches(code("127.0.0.3")));
  EXPECT_TRUE(filter.matches(code("127.0.0.4")));
  EXPECT_TRUE(filter.matches(code("127.0.0.8")));
  auto mixed = CodeFilter::parse({"127.0.[0..1].[2;10..11]"});
  EXPECT_TRUE(mixed.matches(code("127.0.1.2")));
  EXPECT_TRUE(mixed.matches(code("127.0.0.11")));
  EXPECT_FALSE(mixed.matches(code("127.0.2.2")));
  EXPECT_FALSE(mixed.matches(code("127.0.0.9")));
}

TEST(DnsblCodes, AnyOfSeveralPatterns) {
  auto filter = CodeFilter::parse({"127.0.0.2", "127.0.1.[3..4]"});
  EXPECT_TRUE(filter.matches(code("127.0.0.2")));
  EXPECT_TRUE(filter.matches(code("127.0.1.4")));
  EXPECT_FALSE(filter.matches(code("127.0.0.4")));
}

// The grammar's own errors are tested with the config (tests/unit/config); here: a bad
// pattern is refused with its text, a good one is not.
TEST(DnsblCodes, Errors) {
  for (const std::string bad :
       {"127.0.0", "127.0.0.256", "127.0.0.[3..2]", "127.0.0.[]", "127.0.0.[2", "127.0.0.[2;;3]",
        "127.0.0.2.", "127.0.0.2 ", " 127.0.0.2", "127.0.0.+2", "127.0.0.0002", "127.0.0.[1...3]",
        ""}) {
    EXPECT_EQ(parseError(bad).rfind("dnsbl code '" + bad + "': ", 0), 0u) << parseError(bad);
  }
  EXPECT_EQ(parseError("127.0.0.2"), "no error");
}

}  // namespace
}  // namespace spamgate::checks
