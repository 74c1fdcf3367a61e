// Rules files: directives, comments, include, if/ifplugin blocks, and lint messages (exact).
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "rules_test_util.h"

namespace spamgate::rules {
namespace {

using ::testing::ElementsAre;
using testing::hitNames;
using ::testing::IsEmpty;
using testing::load;
using testing::message;
using testing::texts;

const mime::Message kSpammy =
    message({testing::header("Subject", "cheap pills")}, "buy cheap pills now\n");

TEST(RulesParser, CountsLoadedRulesByKind) {
  auto loaded = load(
      "header H Subject =~ /x/\nbody B /x/\nrawbody R /x/\nuri U /x/\nfull F /x/\n"
      "meta M H && B\n# a comment\n\n   \nheader H2 exists:From  # trailing comment\n");
  EXPECT_THAT(texts(loaded.report.errors), IsEmpty());
  EXPECT_EQ(loaded.report.loaded["header"], 2u);
  EXPECT_EQ(loaded.report.loaded["body"], 1u);
  EXPECT_EQ(loaded.report.loaded["rawbody"], 1u);
  EXPECT_EQ(loaded.report.loaded["uri"], 1u);
  EXPECT_EQ(loaded.report.loaded["full"], 1u);
  EXPECT_EQ(loaded.report.loaded["meta"], 1u);
  EXPECT_EQ(ruleCount(*loaded.set), 7u);
  EXPECT_EQ(loaded.report.files, 1u);
}

TEST(RulesParser, EscapedHashIsNotAComment) {
  auto loaded = load("body HASH /a\\#b/\n");
  EXPECT_THAT(texts(loaded.report.errors), IsEmpty());
  EXPECT_THAT(hitNames(scan(*loaded.set, message({}, "x a#b y"), "", {})), ElementsAre("HASH"));
  EXPECT_THAT(hitNames(scan(*loaded.set, message({}, "x ab y"), "", {})), IsEmpty());
}

TEST(RulesParser, RegexDelimitersAndFlags) {
  auto loaded = load(
      "body SLASH /a\\/b/\nbody BRACES m{c{2}d}i\nbody BANG m!e/f!\nbody PARENS m(g(h)i)\n"
      "body XFLAG /j k  l/x\n");
  ASSERT_THAT(texts(loaded.report.errors), IsEmpty());
  auto hits = hitNames(scan(*loaded.set, message({}, "a/b CCD e/f ghi jkl"), "", {}));
  EXPECT_THAT(hits, ElementsAre("SLASH", "BRACES", "BANG", "PARENS", "XFLAG"));
}

TEST(RulesParser, LintMessages) {
  auto loaded = load(
      "body BAD_RE /a(b/\n"
      "body BAD_FLAGS /a/q\n"
      "body NO_END /abc\n"
      "header NO_OP Subject /x/\n"
      "meta BAD_META A &&\n"
      "meta UNKNOWN_DEP NOPE || BAD_RE\n"
      "meta CYCLE_A CYCLE_B\n"
      "meta CYCLE_B CYCLE_A\n"
      "score NOWHERE 1.0\n"
      "describe NOWHERE2 text\n"
      "tflags NOWHERE3 multiple\n"
      "score BAD_RE 1 2\n"
      "body DUP /a/\n"
      "body DUP /b/\n"
      "frobnicate 12\n"
      "body bad-name /x/\n"
      "body TRAIL /x/ junk\n");
  EXPECT_THAT(texts(loaded.report.errors),
              ElementsAre("test.cf:1: rule BAD_RE: bad regex: missing closing parenthesis at "
                          "offset 3",
                          "test.cf:2: rule BAD_FLAGS: bad regex flags 'q'",
                          "test.cf:3: rule NO_END: regex without its closing delimiter '/'",
                          "test.cf:4: rule NO_OP: expected =~ or !~ after the header name",
                          "test.cf:5: rule BAD_META: expected a rule name or a number at column 5",
                          "test.cf:16: body: bad rule name 'bad-name'",
                          "test.cf:17: rule TRAIL: unexpected text after the regex: 'junk'",
                          "test.cf:7: meta CYCLE_A: circular dependency",
                          "test.cf:8: meta CYCLE_B: circular dependency",
                          "test.cf:6: meta UNKNOWN_DEP: unknown rule NOPE",
                          "test.cf:12: score BAD_RE: expected 1 or 4 numbers"));
  EXPECT_THAT(texts(loaded.report.warnings),
              ElementsAre("test.cf:14: duplicate rule DUP (also defined at test.cf:13): the "
                          "later definition wins",
                          "test.cf:15: unknown directive 'frobnicate'",
                          "test.cf:9: score for unknown rule NOWHERE",
                          "test.cf:10: describe for unknown rule NOWHERE2",
                          "test.cf:11: tflags for unknown rule NOWHERE3"));
  EXPECT_EQ(loaded.report.failed["body"], 2u);  // BAD_RE, BAD_FLAGS
  EXPECT_EQ(loaded.report.skipped["unknown directive"], 1u);
}

TEST(RulesParser, DuplicateLaterDefinitionWins) {
  auto loaded = load("body DUP /first/\nbody DUP /second/\n");
  EXPECT_EQ(ruleCount(*loaded.set), 1u);
  EXPECT_THAT(hitNames(scan(*loaded.set, message({}, "second"), "", {})), ElementsAre("DUP"));
  EXPECT_THAT(hitNames(scan(*loaded.set, message({}, "first"), "", {})), IsEmpty());
}

TEST(RulesParser, BadRegexCanBeSkippedForThirdPartySets) {
  LoadOptions options;
  options.skip_bad_regex = true;
  auto loaded = load("body BAD /(?<=a+)b/\nbody GOOD /b/\nmeta M BAD && GOOD\n", options);
  EXPECT_THAT(texts(loaded.report.errors), IsEmpty());
  ASSERT_EQ(loaded.report.warnings.size(), 1u);
  EXPECT_THAT(loaded.report.warnings[0].text(),
              ::testing::StartsWith("test.cf:1: rule BAD: bad regex: "));
  EXPECT_EQ(loaded.report.skipped["bad regex"], 1u);
  EXPECT_EQ(loaded.report.skipped["meta needs bad regex rule"], 1u);
  EXPECT_THAT(texts(loaded.report.notes),
              ElementsAre("test.cf:3: meta M skipped: needs BAD (bad regex)"));
  EXPECT_EQ(ruleCount(*loaded.set), 1u);
}

TEST(RulesParser, EvalAndPluginRulesAreSkippedAndCounted) {
  auto loaded = load(
      "header E1 eval:check_for_missing_to_header()\n"
      "body E2 eval:check_stock_info()\n"
      "mimeheader P1 Content-Type =~ /x/\n"
      "uri_detail P2 text =~ /x/\n"
      "body B /pills/\n"
      "meta M1 E1 && B\n"
      "meta M2 M1 || B\n"
      "meta M3 P1\n"
      "score E1 2.0\n");
  EXPECT_THAT(texts(loaded.report.errors), IsEmpty());
  EXPECT_THAT(texts(loaded.report.warnings), IsEmpty());  // no "score for unknown rule E1"
  EXPECT_EQ(loaded.report.skipped["eval"], 2u);
  EXPECT_EQ(loaded.report.skipped["plugin"], 2u);
  EXPECT_EQ(loaded.report.skipped["meta needs eval rule"], 2u);  // M1, and M2 through M1
  EXPECT_EQ(loaded.report.skipped["meta needs plugin rule"], 1u);
  EXPECT_THAT(texts(loaded.report.notes),
              ElementsAre("test.cf:6: meta M1 skipped: needs E1 (eval)",
                          "test.cf:8: meta M3 skipped: needs P1 (plugin)",
                          "test.cf:7: meta M2 skipped: needs M1 (meta needs eval rule)"));
  EXPECT_THAT(hitNames(scan(*loaded.set, kSpammy, "", {})), ElementsAre("B"));
}

TEST(RulesParser, IfAndIfpluginBlocks) {
  auto loaded = load(
      "ifplugin Mail::SpamAssassin::Plugin::Foo\n"
      "body IN_PLUGIN /pills/\n"
      "if (version >= 3.004000)\n  body NESTED /pills/\nendif\n"
      "endif\n"
      "if !plugin(Mail::SpamAssassin::Plugin::Foo)\nbody NOT_PLUGIN /pills/\nendif\n"
      "if (version >= 3.004002) && can(Mail::SpamAssassin::Conf::perl_min_version_5010000)\n"
      "body NEW_ENOUGH /pills/\nelse\nbody TOO_OLD /pills/\nendif\n"
      "if version < 3.0\nbody ANCIENT /pills/\nendif\n"
      "if can(Mail::SpamAssassin::Conf::feature_capture_rules)\nbody CAPTURE /pills/\nendif\n"
      "meta NEEDS_PLUGIN IN_PLUGIN\n");
  EXPECT_THAT(texts(loaded.report.errors), IsEmpty());
  EXPECT_THAT(hitNames(scan(*loaded.set, kSpammy, "", {})),
              ElementsAre("NOT_PLUGIN", "NEW_ENOUGH"));
  EXPECT_EQ(loaded.report.skipped["plugin block"], 2u);
  EXPECT_EQ(loaded.report.skipped["conditional block"], 3u);
  EXPECT_EQ(loaded.report.skipped["meta needs plugin block rule"], 1u);
}

TEST(RulesParser, ReplaceTagsRewriteListedRules) {
  // Tags may be defined after the rules that use them; only listed rules are rewritten.
  auto loaded = load(
      "ifplugin Mail::SpamAssassin::Plugin::ReplaceTags\n"
      "body FUZZY /<inter W1><post P2><V><I><A>/i\n"
      "body PRE /<pre SP><V><I>x/\n"
      "body NESTED /<VI>/\n"
      "body UNLISTED /<V>/\n"
      "replace_rules FUZZY PRE\nreplace_rules NESTED\n"
      "endif\n"
      "replace_tag V [v\\\\/]\nreplace_tag I [i1!|]\nreplace_tag A [a@4]\n"
      "replace_tag VI <V><I>\nreplace_inter W1 \\W?\nreplace_post P2 {1,2}\n"
      "replace_pre SP \\s\n"
      "if !plugin(Mail::SpamAssassin::Plugin::ReplaceTags)\nbody NO_PLUGIN /v/\nendif\n");
  ASSERT_THAT(texts(loaded.report.errors), IsEmpty());
  EXPECT_THAT(texts(loaded.report.warnings), IsEmpty());
  auto hits = [&](const char* body) {
    return hitNames(scan(*loaded.set, message({}, body), "", {}));
  };
  EXPECT_THAT(hits("buy v.1.@ now"), ElementsAre("FUZZY"));
  EXPECT_THAT(hits("vv-ii-aa"), ElementsAre("FUZZY"));
  EXPECT_THAT(hits("v..1.@"), IsEmpty());  // W1 allows one non-word character between tags
  EXPECT_THAT(hits(" v 1x"), ElementsAre("PRE"));
  EXPECT_THAT(hits("v1"), ElementsAre("NESTED"));
  EXPECT_THAT(hits("<V>"), ElementsAre("UNLISTED"));
}

TEST(RulesParser, ReplaceTagsGrowthIsBounded) {
  std::string sixteen;
  for (int i = 0; i < 16; ++i)
    sixteen += "<A>";
  auto loaded = load("body GROW /<A>/\nreplace_rules GROW\nreplace_tag A " + sixteen + "\n");
  EXPECT_THAT(texts(loaded.report.errors),
              ElementsAre("test.cf:1: rule GROW: bad regex: too large after replace_tag"));
}

TEST(RulesParser, UnbalancedConditionals) {
  auto loaded = load("endif\nelse\nif (version > 1)\nbody X /x/\n");
  EXPECT_THAT(texts(loaded.report.errors),
              ElementsAre("test.cf:1: endif without if", "test.cf:2: else without if",
                          "test.cf:4: if or ifplugin without endif"));
  auto bad = load("if version >\nendif\nif foo\nendif\n");
  EXPECT_THAT(texts(bad.report.errors),
              ElementsAre("test.cf:1: bad if condition: expected a rule name or a number at "
                          "column 10"));
  EXPECT_THAT(texts(bad.report.warnings),
              ElementsAre("test.cf:3: unknown name 'foo' in if condition"));
}

TEST(RulesParser, LangAndKnownSettingsAreQuiet) {
  auto loaded = load(
      "body B /x/\nlang de describe B Beschreibung\nrequired_score 5\nreport _SUMMARY_\n"
      "util_rb_2tld example.com\nfreemail_domains example.org\nreuse B\n");
  EXPECT_THAT(texts(loaded.report.errors), IsEmpty());
  EXPECT_THAT(texts(loaded.report.warnings), IsEmpty());
}

class RulesFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("spamgate-rules-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(root_ / "sub" / "deeper");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(root_ / name) << text;
  }
  std::filesystem::path root_;
};

TEST_F(RulesFiles, IncludeIsRelativeToTheIncludingFile) {
  write("main.cf", "include sub/one.cf\nbody MAIN /main/\n");
  write("sub/one.cf", "include deeper/two.cf\nbody ONE /one/\n");
  write("sub/deeper/two.cf", "body TWO /two/\n");
  LoadReport report;
  auto set = loadRules({(root_ / "main.cf").string()}, {}, report);
  EXPECT_THAT(texts(report.errors), IsEmpty());
  EXPECT_EQ(report.files, 3u);
  EXPECT_THAT(hitNames(scan(*set, message({}, "main one two"), "", {})),
              ElementsAre("TWO", "ONE", "MAIN"));
}

TEST_F(RulesFiles, DirectoryLoadsCfFilesInNameOrder) {
  write("20_b.cf", "body DUP /second/\n");
  write("10_a.cf", "body DUP /first/\nbody A /a/\n");
  write("notes.txt", "this is not a rules file\n");
  LoadReport report;
  auto set = loadRules({root_.string()}, {}, report);
  EXPECT_THAT(texts(report.errors), IsEmpty());
  EXPECT_EQ(report.files, 2u);
  EXPECT_THAT(hitNames(scan(*set, message({}, "second"), "", {})), ElementsAre("DUP"));
}

TEST_F(RulesFiles, MissingFileAndIncludeLoop) {
  write("loop.cf", "include loop.cf\n");
  LoadReport report;
  loadRules({(root_ / "missing.cf").string(), (root_ / "loop.cf").string()}, {}, report);
  ASSERT_EQ(report.errors.size(), 2u);
  EXPECT_EQ(report.errors[0].message, "cannot read " + (root_ / "missing.cf").string());
  EXPECT_EQ(report.errors[1].message, "include nested too deeply");
}

}  // namespace
}  // namespace spamgate::rules
