// Meta rules: boolean and arithmetic expressions, precedence, sub-rules, counts, external
// names, unknown and cyclic names.
#include "rules_test_util.h"

namespace spamgate::rules {
namespace {

using ::testing::ElementsAre;
using testing::findHit;
using testing::hitNames;
using ::testing::IsEmpty;
using testing::load;
using testing::message;
using testing::texts;

// Sub-rules __A.. __D hit when their letter is in the body.
const char* const kSubRules =
    "body __A /a/\nbody __B /b/\nbody __C /c/\nbody __D /d/\n"
    "tflags __A multiple\n";

// Whether the meta `expression` hits on `body`.
bool metaHits(const std::string& expression, const std::string& body) {
  auto loaded = load(std::string(kSubRules) + "meta M " + expression + "\n");
  EXPECT_THAT(texts(loaded.report.errors), IsEmpty()) << expression;
  return findHit(scan(*loaded.set, message({}, body), "", {}), "M") != nullptr;
}

TEST(RulesMeta, Boolean) {
  EXPECT_TRUE(metaHits("__A && !(__B || __C)", "a"));
  EXPECT_FALSE(metaHits("__A && !(__B || __C)", "a c"));
  EXPECT_FALSE(metaHits("__A && !(__B || __C)", "b"));
  EXPECT_TRUE(metaHits("__A || __B", "b"));
  EXPECT_FALSE(metaHits("__A || __B", "c"));
  EXPECT_TRUE(metaHits("!__D", "x"));
  EXPECT_TRUE(metaHits("!!__D", "d"));
}

TEST(RulesMeta, ArithmeticAndComparisons) {
  EXPECT_TRUE(metaHits("(__B + __C + __D) > 1", "b d"));
  EXPECT_FALSE(metaHits("(__B + __C + __D) > 1", "d"));
  EXPECT_TRUE(metaHits("__B + __C + __D >= 3", "bcd"));
  EXPECT_TRUE(metaHits("__B * 2 == 2", "b"));
  EXPECT_TRUE(metaHits("__B - __C != 0", "b"));
  EXPECT_FALSE(metaHits("__B - __C", "bc"));
  EXPECT_TRUE(metaHits("__B / 2 < 1", "b"));
  EXPECT_TRUE(metaHits("__B <= 0", "x"));
  EXPECT_FALSE(metaHits("__B / __C", "b"));  // division by zero is 0
  EXPECT_TRUE(metaHits("-__B + 2 == 1", "b"));
  EXPECT_TRUE(metaHits("1.5 < __B + 1", "b"));
}

TEST(RulesMeta, Precedence) {
  // && binds tighter than ||: B || (C && D).
  EXPECT_TRUE(metaHits("__B || __C && __D", "b"));
  EXPECT_FALSE(metaHits("(__B || __C) && __D", "b"));
  // * before +, + before comparison, comparison before &&.
  EXPECT_TRUE(metaHits("__B + __C * 2 == 3", "bc"));
  EXPECT_TRUE(metaHits("__B + __C > 1 && __D", "bcd"));
  EXPECT_FALSE(metaHits("__B + __C > 1 && __D", "bc"));
  // ! binds tighter than &&, and applies to one operand.
  EXPECT_TRUE(metaHits("!__B && __C", "c"));
  EXPECT_FALSE(metaHits("!(__B && __C) && __C", "bc"));
  EXPECT_TRUE(metaHits("__B - __C - __D == -1", "bcd"));  // left associative
}

TEST(RulesMeta, MultipleCountsInMetas) {
  EXPECT_TRUE(metaHits("__A > 2", "a a a"));
  EXPECT_FALSE(metaHits("__A > 2", "a a"));
  EXPECT_TRUE(metaHits("__A == 5", "aaaaa"));
}

TEST(RulesMeta, SubRulesAreNeverReportedAndMetasOfMetasWork) {
  auto loaded =
      load(std::string(kSubRules) + "meta __AB __A && __B\nmeta TOP __AB || __D\nscore TOP 2.5\n");
  ScanResult result = scan(*loaded.set, message({}, "a b"), "", {});
  EXPECT_THAT(hitNames(result), ElementsAre("TOP"));
  EXPECT_DOUBLE_EQ(result.score, 2.5);
  EXPECT_THAT(hitNames(scan(*loaded.set, message({}, "a"), "", {})), IsEmpty());
}

TEST(RulesMeta, ExternalNamesFromOtherChecks) {
  LoadOptions options;
  options.external_names = {"SPF_FAIL", "DKIM_PASS"};
  auto loaded =
      load("body BODY_Y /pills/\nmeta LOCAL_X SPF_FAIL && BODY_Y && !DKIM_PASS\n", options);
  ASSERT_THAT(texts(loaded.report.errors), IsEmpty());
  auto pills = message({}, "pills");
  EXPECT_NE(findHit(scan(*loaded.set, pills, "", {"SPF_FAIL"}), "LOCAL_X"), nullptr);
  EXPECT_EQ(findHit(scan(*loaded.set, pills, "", {"SPF_FAIL", "DKIM_PASS"}), "LOCAL_X"), nullptr);
  EXPECT_EQ(findHit(scan(*loaded.set, pills, "", {}), "LOCAL_X"), nullptr);
  // Without the name declared, the same meta is a lint error.
  auto undeclared = load("body BODY_Y /pills/\nmeta LOCAL_X SPF_FAIL && BODY_Y\n");
  EXPECT_THAT(texts(undeclared.report.errors),
              ElementsAre("test.cf:2: meta LOCAL_X: unknown rule SPF_FAIL"));
}

TEST(RulesMeta, UnknownAndCyclicNames) {
  auto self = load("meta SELF SELF || 1\n");
  EXPECT_THAT(texts(self.report.errors), ElementsAre("test.cf:1: meta SELF: circular dependency"));
  auto chain = load("meta A B\nmeta B C\nmeta C A\nmeta D A\nbody E /e/\nmeta F E && G\n");
  EXPECT_THAT(texts(chain.report.errors), ElementsAre("test.cf:1: meta A: circular dependency",
                                                      "test.cf:2: meta B: circular dependency",
                                                      "test.cf:3: meta C: circular dependency",
                                                      "test.cf:4: meta D: circular dependency",
                                                      "test.cf:6: meta F: unknown rule G"));
  EXPECT_EQ(ruleCount(*chain.set), 1u);  // only E
}

TEST(RulesMeta, SyntaxErrors) {
  for (const char* bad : {"meta M (__A", "meta M __A __B", "meta M __A &&& __B", "meta M",
                          "meta M __A ? 1 : 0", "meta M check(x)"}) {
    auto loaded = load(std::string(kSubRules) + bad + "\n");
    EXPECT_EQ(loaded.report.errors.size(), 1u) << bad;
  }
  std::string deep(100, '(');
  auto loaded =
      load(std::string(kSubRules) + "meta M " + deep + "__A" + std::string(100, ')') + "\n");
  EXPECT_THAT(texts(loaded.report.errors),
              ElementsAre("test.cf:6: rule M: expression nested too deeply"));
}

TEST(RulesMeta, ZeroScoreRuleStillFeedsMetas) {
  auto loaded = load("body QUIET /q/\nscore QUIET 0\nmeta LOUD QUIET\n");
  ScanResult result = scan(*loaded.set, message({}, "q"), "", {});
  EXPECT_THAT(hitNames(result), ElementsAre("LOUD"));
}

}  // namespace
}  // namespace spamgate::rules
