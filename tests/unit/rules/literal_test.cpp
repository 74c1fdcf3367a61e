// Required literals: what the reader finds in a pattern, what it refuses to guess, and the
// one-pass search; the engine skips a rule only when its text lacks them.
#include <algorithm>
#include <cctype>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/ascii.h"
#include "rules/internal.h"
#include "rules_test_util.h"

namespace spamgate::rules {
namespace {

using detail::LiteralSet;
using detail::requiredLiterals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::vector<std::string> literalsOf(std::string_view pattern, std::string_view flags = "") {
  return requiredLiterals(pattern, flags, 0);
}

TEST(RulesLiterals, LongestRunOfPlainBytesLowerCased) {
  EXPECT_THAT(literalsOf(R"(\bFree\s+Money\b)", "i"), ElementsAre("money"));
  EXPECT_THAT(literalsOf(R"(foo\.bar\x41\/)"), ElementsAre("foo.bara/"));
  EXPECT_THAT(literalsOf(R"(^untimely\sdeath$)"), ElementsAre("untimely"));
}

TEST(RulesLiterals, QuantifiersCutTheRun) {
  EXPECT_THAT(literalsOf("abcd?efg"), ElementsAre("abc"));  // d optional: "abc", "efg"
  EXPECT_THAT(literalsOf("abcde+fg"), ElementsAre("abcde"));
  EXPECT_THAT(literalsOf("wxyz{0,2}abc"), ElementsAre("wxy"));
  EXPECT_THAT(literalsOf("wxyz{2}ab"), ElementsAre("wxyz"));
  EXPECT_THAT(literalsOf("(?:hello)?ab"), IsEmpty());
  EXPECT_THAT(literalsOf("(?:hello)+ab"), ElementsAre("hello"));
}

TEST(RulesLiterals, AlternativesNeedEveryBranch) {
  EXPECT_THAT(literalsOf(R"(\b(?:fortune|heritage)\b)", "i"),
              UnorderedElementsAre("fortune", "heritage"));
  EXPECT_THAT(literalsOf("money|x"), IsEmpty());  // a branch with nothing to require
  EXPECT_THAT(literalsOf("(?<name>abcd|efgh)z"), UnorderedElementsAre("abcd", "efgh"));
}

TEST(RulesLiterals, OpaqueGroupsClassesAndAssertions) {
  EXPECT_THAT(literalsOf("(?!viagra)v[i1]agra"), ElementsAre("agra"));
  EXPECT_THAT(literalsOf("(?<=abcd)xy"), IsEmpty());
  EXPECT_THAT(literalsOf("[[:alpha:]]{2}hello[]x]"), ElementsAre("hello"));
  EXPECT_THAT(literalsOf("(?i)hello(?#comment)world"), ElementsAre("hello"));
}

TEST(RulesLiterals, UnknownSyntaxGivesNothing) {
  for (const char* pattern : {R"(\Qabc\E)", R"(\p{L}abcdef)", "(?x)a b c d", "(*UCP)abcd",
                              "(?(1)abc|def)", R"(abc\cXdef)", "abc{x}"}) {
    EXPECT_THAT(literalsOf(pattern), IsEmpty()) << pattern;
  }
  EXPECT_THAT(literalsOf("abcd", "x"), IsEmpty());
  EXPECT_THAT(requiredLiterals("abcd", "i", PCRE2_UTF), IsEmpty());
  EXPECT_THAT(literalsOf("ab"), IsEmpty());  // shorter than kMinLiteral
}

TEST(RulesLiterals, PrefilterDropsLeadingItemsThatMayMatchEmpty) {
  using detail::prefilterPattern;
  EXPECT_EQ(prefilterPattern(R"((?:\b|\s)[_\W]{0,3}p[_\W]{0,3}h)", "i", 0), R"(p[_\W]{0,3}h)");
  EXPECT_EQ(prefilterPattern(R"(\b\W{0,10}b(?!it)\W?i)", "i", 0), R"(b(?!it)\W?i)");
  EXPECT_EQ(prefilterPattern(R"((?:^|\W)(?=[aA])[aA4]mazon)", "", 0), "[aA4]mazon");
  EXPECT_EQ(prefilterPattern("(?<!=)x*[LM]", "", 0), "[LM]");
  EXPECT_EQ(prefilterPattern("^[^\\n]{998}", "m", 0), "");  // PCRE2 tries only line starts
  EXPECT_EQ(prefilterPattern("abc", "", 0), "");            // nothing to drop
  EXPECT_EQ(prefilterPattern("\\b?", "", 0), "");           // all of it may match empty
  EXPECT_EQ(prefilterPattern("\\bab|cd", "", 0), "");       // top-level alternatives
  EXPECT_EQ(prefilterPattern("(a)?x\\1", "", 0), "");       // a back reference
  EXPECT_EQ(prefilterPattern("\\b(?i)abc", "", 0), "");     // a setting for what follows
  EXPECT_EQ(prefilterPattern("\\b a", "x", 0), "");
}

TEST(RulesLiterals, PrefilterNeverRefusesWhatThePatternMatches) {
  // No literal of 3 bytes in either: the engine runs their prefilter first.
  const char* rules =
      "body B /(?:\\b|\\s)[_\\W]{0,3}v[_\\W]{0,3}[i1!][_\\W]{0,3}a[_\\W]?g\\b/i\n"
      "body C /\\b(?:[-*] )?x{0,2}Pr[i1]c$/\n";
  ASSERT_EQ(detail::prefilterPattern(R"((?:\b|\s)[_\W]{0,3}v)", "i", 0), "v");
  auto loaded = testing::load(rules);
  ASSERT_THAT(testing::texts(loaded.report.errors), IsEmpty());
  auto hits = [&](std::string body) {
    return testing::hitNames(scan(*loaded.set, testing::message({}, std::move(body)), "", {}));
  };
  EXPECT_THAT(hits("buy V_1_ag now"), ElementsAre("B"));
  EXPECT_THAT(hits("--v!a-g"), ElementsAre("B"));
  EXPECT_THAT(hits("avi ag"), IsEmpty());
  EXPECT_THAT(hits("a\n- xxPr1c\nlist"), ElementsAre("C"));
  EXPECT_THAT(hits("thePric"), IsEmpty());  // the core matches, the whole pattern does not
}

// Random small patterns (fixed seed) and random texts, half of them with the pattern's letters:
// wherever PCRE2 matches, a literal is present and the prefilter pattern matches too.
TEST(RulesLiterals, SoundOnRandomPatterns) {
  std::mt19937 rng(7);
  auto pick = [&](std::string_view from) { return from[rng() % from.size()]; };
  auto compile = [](const std::string& pattern, uint32_t options) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    return detail::Code(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                      options, &error, &offset, nullptr));
  };
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create(1, nullptr), pcre2_match_data_free);
  auto matches = [&](const detail::Code& code, const std::string& text) {
    return pcre2_match(code.get(), reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, 0,
                       data.get(), nullptr) >= 0;
  };
  int matched = 0;
  for (int n = 0; n < 40000; ++n) {
    std::string pattern;
    for (std::size_t i = 0, len = 2 + rng() % 12; i < len; ++i)
      pattern += pick("abcAB()[]{}|?*+\\^$.:=!<>-,0123xsbwWi ");
    const bool caseless = rng() % 2 == 0;
    const std::string flags = caseless ? "i" : "";
    const uint32_t options = PCRE2_MULTILINE | (caseless ? PCRE2_CASELESS : 0);
    auto literals = requiredLiterals(pattern, flags, PCRE2_MULTILINE);
    std::string core = detail::prefilterPattern(pattern, flags, PCRE2_MULTILINE);
    detail::Code code = compile(pattern, options);
    if ((literals.empty() && core.empty()) || !code) continue;
    detail::Code core_code = core.empty() ? nullptr : compile(core, options);
    for (int k = 0; k < 20; ++k) {
      std::string text;
      for (std::size_t i = 0, len = rng() % 12; i < len; ++i)
        text += pick("abcABC xyz\n-_!ab c");
      if (k % 2 == 0) {  // the pattern's letters and spaces: often a match, no literal given
        for (char c : pattern)
          text += std::isalnum(static_cast<unsigned char>(c)) != 0 || c == ' ' ? c : '\0';
        std::erase(text, '\0');
      }
      if (!matches(code, text)) continue;
      ++matched;
      std::string lower = text;
      for (char& c : lower)
        c = base::asciiLower(c);
      const bool holds = literals.empty() ||
                         std::any_of(literals.begin(), literals.end(), [&](const std::string& l) {
                           return lower.find(l) != std::string::npos;
                         });
      ASSERT_TRUE(holds) << "/" << pattern << "/" << flags << " on '" << text << "'";
      ASSERT_TRUE(!core_code || matches(core_code, text)) << pattern << " core " << core;
    }
  }
  EXPECT_GT(matched, 5000);  // 8046 with this seed
}

TEST(RulesLiterals, SetFindsEveryLiteralCaseInsensitively) {
  LiteralSet set;
  const uint32_t money = set.add("money");
  const uint32_t fortune = set.add("fortune");
  const uint32_t heritage = set.add("heritage");
  EXPECT_EQ(set.add("money"), money);
  std::vector<uint8_t> found;
  set.find("Send MONEY for a fortun", found);
  EXPECT_EQ(found[money], 1);
  EXPECT_EQ(found[fortune], 0);
  EXPECT_EQ(found[heritage], 0);
  set.find("heritage", found);
  EXPECT_EQ(found[heritage], 1);
  set.find("mo", found);
  EXPECT_EQ(found[money], 0);
}

TEST(RulesLiterals, EngineSkipsOnlyTextsWithoutTheLiteral) {
  auto loaded = testing::load(
      "body CI /\\bfree\\s+money\\b/i\nbody CS /Free Money/\nuri U /\\.example\\.com\\//\n");
  ASSERT_THAT(testing::texts(loaded.report.errors), IsEmpty());
  auto hits = [&](const mime::Message& m) {
    return testing::hitNames(scan(*loaded.set, m, "", {}));
  };
  EXPECT_THAT(hits(testing::message({}, "get FREE   MONEY now")), ElementsAre("CI"));
  EXPECT_THAT(hits(testing::message({}, "Free Money")), ElementsAre("CI", "CS"));
  EXPECT_THAT(hits(testing::message({}, "free monkey")), IsEmpty());
  EXPECT_THAT(hits(testing::message({}, "", "", {"http://a.test/", "http://WWW.Example.com/"})),
              IsEmpty());  // the regex is case-sensitive: the literal alone does not hit
  EXPECT_THAT(hits(testing::message({}, "", "", {"http://a.test/", "http://www.example.com/"})),
              ElementsAre("U"));
}

}  // namespace
}  // namespace spamgate::rules
