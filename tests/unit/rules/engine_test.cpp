// Scanning: each rule kind on its view of the message, header modifiers, tflags, scores and
// score sets, descriptions, and the match limits.
#include <atomic>
#include <chrono>
#include <thread>

#include "rules_test_util.h"

namespace spamgate::rules {
namespace {

using ::testing::ElementsAre;
using testing::findHit;
using testing::header;
using testing::hitNames;
using ::testing::IsEmpty;
using testing::load;
using testing::message;
using testing::texts;

std::vector<std::string> hitsOf(std::string_view rules, const mime::Message& m,
                                std::string_view full = "") {
  auto loaded = load(rules);
  EXPECT_THAT(texts(loaded.report.errors), IsEmpty());
  return hitNames(scan(*loaded.set, m, full, {}));
}

TEST(RulesEngine, EachKindSeesItsOwnView) {
  const char* rules =
      "header H Subject =~ /hello/\nbody B /hello/\nrawbody R /hello/\nuri U /hello/\n"
      "full F /hello/\n";
  EXPECT_THAT(hitsOf(rules, message({header("Subject", "hello")})), ElementsAre("H"));
  EXPECT_THAT(hitsOf(rules, message({}, "hello")), ElementsAre("B"));
  EXPECT_THAT(hitsOf(rules, message({}, "", "hello")), ElementsAre("R"));
  EXPECT_THAT(hitsOf(rules, message({}, "", "", {"http://a.example/", "http://hello.example/"})),
              ElementsAre("U"));
  EXPECT_THAT(hitsOf(rules, message({}), "Subject: hello\r\n\r\n"), ElementsAre("F"));
}

TEST(RulesEngine, BodyAnchorsWorkPerLineFullDoesNot) {
  const char* rules = "body B /^second line$/\nrawbody R /^second$/\nfull F /^second/\n";
  auto m = message({}, "first line\nsecond line\n", "first\nsecond\n");
  EXPECT_THAT(hitsOf(rules, m, "first\nsecond\n"), ElementsAre("B", "R"));
  EXPECT_THAT(hitsOf("full F /^second/m\n", m, "first\nsecond\n"), ElementsAre("F"));
}

TEST(RulesEngine, RegexFlags) {
  auto m = message({}, "Hello\nWorld");
  EXPECT_THAT(hitsOf("body I /hello/i\nbody NOT_I /hello/\n", m), ElementsAre("I"));
  EXPECT_THAT(hitsOf("rawbody S /Hello.World/s\nrawbody NOT_S /Hello.World/\n",
                     message({}, "", "Hello\nWorld")),
              ElementsAre("S"));
  EXPECT_THAT(hitsOf("full M /^World/m\nfull NOT_M /^World/\n", m, "Hello\nWorld"),
              ElementsAre("M"));
}

TEST(RulesEngine, HeaderDecodedRawAndRepeatedFields) {
  auto m = message({header("Subject", "=?utf-8?q?caf=C3=A9?=", "caf\xC3\xA9"),
                    header("Received", "from a"), header("received", "from b")});
  EXPECT_THAT(hitsOf("header D Subject =~ /caf\\xC3\\xA9/\n"
                     "header R Subject:raw =~ /=\\?utf-8\\?q\\?/\n"
                     "header NOT_R Subject:raw =~ /caf\\xC3/\n",
                     m),
              ElementsAre("D", "R"));
  // Every value of a repeated field, case-insensitively, one per line.
  EXPECT_THAT(hitsOf("header TWO Received =~ /^from a\\nfrom b\\n$/\n", m), ElementsAre("TWO"));
}

TEST(RulesEngine, HeaderNegationExistsAndIfUnset) {
  auto m = message({header("From", "a@example.com")});
  EXPECT_THAT(hitsOf("header NEG From !~ /example\\.org/\nheader NEG2 From !~ /example/\n"
                     "header HAS exists:from\nheader HASNT exists:Reply-To\n"
                     "header MISSING X-Mailer =~ /^$/\n"
                     "header UNSET X-Mailer =~ /^none$/ [if-unset: none]\n"
                     "header SET From =~ /^none$/ [if-unset: none]\n"
                     "header MISSING_NEG X-Mailer !~ /./\n",
                     m),
              ElementsAre("NEG", "HAS", "MISSING", "UNSET", "MISSING_NEG"));
}

TEST(RulesEngine, HeaderAllAndToCc) {
  auto m = message({header("From", "a@example.com"), header("To", "b@example.com"),
                    header("Cc", "c@example.net")});
  EXPECT_THAT(hitsOf("header ALL1 ALL =~ /^To: b@example\\.com$/m\n"
                     "header ALL2 ALL =~ /^From: .*\\nTo: .*\\nCc: /\n"
                     "header TOCC ToCc =~ /b@example\\.com.*\\n?.*c@example\\.net/\n"
                     "header TOCC_NOT_FROM ToCc =~ /a@example/\n",
                     m),
              ElementsAre("ALL1", "ALL2", "TOCC"));
}

TEST(RulesEngine, ExistsSeesPseudoFields) {
  const std::string rules =
      "header __TOCC_EXISTS exists:ToCc\n"
      "header MID_EXISTS exists:MESSAGEID\n"
      "meta REPLYTO_WITHOUT_TO_CC !__TOCC_EXISTS\n";
  auto cc_only = message({header("Cc", "c@example.net"), header("Message-Id", "<a@example>")});
  EXPECT_THAT(hitsOf(rules, cc_only), ElementsAre("MID_EXISTS"));
  auto to_only = message({header("to", "b@example.com"), header("X-Message-ID", "<b@example>")});
  EXPECT_THAT(hitsOf(rules, to_only), ElementsAre("MID_EXISTS"));
  auto neither = message({header("From", "a@example.com"), header("Resent-To", "r@example")});
  EXPECT_THAT(hitsOf(rules, neither), ElementsAre("REPLYTO_WITHOUT_TO_CC"));
}

TEST(RulesEngine, MessageIdPseudoField) {
  auto m = message({header("Message-Id", "<a@one>"), header("X-Message-Id", "<b@two>"),
                    header("Resent-Message-Id", "<c@three>"), header("X-Message-ID", "<d@four>"),
                    header("X-Original-Message-ID", "<e@five>")});
  // SpamAssassin's order: X-Message-Id, Resent-Message-Id, X-Original-Message-ID, Message-Id.
  EXPECT_THAT(hitsOf("header ALL_IDS MESSAGEID =~ /^<b@two>\\n<d@four>\\n<c@three>\\n"
                     "<e@five>\\n<a@one>\\n$/\n"
                     "header LITERAL messageid =~ /@/\n"
                     "header NEG MESSAGEID !~ /@three/\n",
                     m),
              ElementsAre("ALL_IDS"));
  auto none = message({header("From", "a@example.com"), header("Message-Id", "")});
  EXPECT_THAT(hitsOf("header UNSET MESSAGEID =~ /^x$/ [if-unset: x]\n"
                     "header NOT_EXISTS exists:MESSAGEID\n",
                     none),
              ElementsAre("UNSET"));
}

TEST(RulesEngine, PseudoFieldsWithoutDataAreSkipped) {
  auto loaded = load(
      "header RELAY X-Spam-Relays-External =~ /helo=/\n"
      "header RELAY_NEG X-Spam-Relays-Untrusted !~ /rdns=\\S/\n"
      "header RELAY_LC x-spam-relays-internal =~ /x/\n"
      "header ENV EnvelopeFrom:addr =~ /@/\n"
      "header ENV_EXISTS exists:EnvelopeFrom\n"
      "header TRUSTED ALL-TRUSTED !~ /^Received:/\n"
      "header NOT_PSEUDO All-Trusted =~ /x/\n"
      "meta RELAY_META RELAY_NEG || ENV\n"
      "meta OK_META NOT_PSEUDO\n");
  EXPECT_THAT(texts(loaded.report.errors), IsEmpty());
  auto& skipped = loaded.report.skipped;
  EXPECT_EQ(skipped["pseudo-header X-Spam-Relays-External"], 1u);
  EXPECT_EQ(skipped["pseudo-header X-Spam-Relays-Untrusted"], 1u);
  EXPECT_EQ(skipped["pseudo-header x-spam-relays-internal"], 1u);
  EXPECT_EQ(skipped["pseudo-header EnvelopeFrom"], 2u);
  EXPECT_EQ(skipped["pseudo-header ALL-TRUSTED"], 1u);
  EXPECT_EQ(skipped["meta needs pseudo-header X-Spam-Relays-Untrusted rule"], 1u);
  EXPECT_EQ(ruleCount(*loaded.set), 2u);  // NOT_PSEUDO and OK_META
  auto m = message({header("Received", "from a by b")});
  EXPECT_THAT(hitNames(scan(*loaded.set, m, "", {})), IsEmpty());
}

TEST(RulesEngine, HeaderAddrAndName) {
  auto m = message({header("From", "\"Big Sale\" <deals@shop.example>"),
                    header("Reply-To", "other@example.net, second@example.org")});
  EXPECT_THAT(hitsOf("header ADDR From:addr =~ /^deals@shop\\.example$/\n"
                     "header NAME From:name =~ /^Big Sale$/\n"
                     "header FIRST Reply-To:addr =~ /^other@example\\.net$/\n"
                     "header NOT_SECOND Reply-To:addr =~ /second/\n"
                     "header NO_ADDR X-None:addr =~ /^$/\n",
                     m),
              ElementsAre("ADDR", "NAME", "FIRST", "NO_ADDR"));
}

TEST(RulesEngine, UnsupportedHeaderModifierIsSkipped) {
  auto loaded = load("header H From:host =~ /x/\n");
  EXPECT_THAT(texts(loaded.report.errors), IsEmpty());
  EXPECT_EQ(loaded.report.skipped["header modifier"], 1u);
}

TEST(RulesEngine, TflagsMultipleAndMaxhits) {
  auto loaded = load(
      "body ONE /x/\nbody MANY /x/\ntflags MANY multiple\nbody CAPPED /x/\n"
      "tflags CAPPED multiple maxhits=2\nscore MANY 0.5\nuri URIS /example/\n"
      "tflags URIS multiple\nbody EMPTY /y*/\ntflags EMPTY multiple maxhits=3\n");
  ASSERT_THAT(texts(loaded.report.errors), IsEmpty());
  ScanResult result = scan(
      *loaded.set, message({}, "x x x x", "", {"http://example/", "http://example/2"}), "", {});
  ASSERT_NE(findHit(result, "ONE"), nullptr);
  EXPECT_EQ(findHit(result, "ONE")->count, 1u);
  ASSERT_NE(findHit(result, "MANY"), nullptr);
  EXPECT_EQ(findHit(result, "MANY")->count, 4u);
  EXPECT_DOUBLE_EQ(findHit(result, "MANY")->score, 2.0);
  ASSERT_NE(findHit(result, "CAPPED"), nullptr);
  EXPECT_EQ(findHit(result, "CAPPED")->count, 2u);
  ASSERT_NE(findHit(result, "URIS"), nullptr);
  EXPECT_EQ(findHit(result, "URIS")->count, 2u);
  ASSERT_NE(findHit(result, "EMPTY"), nullptr);  // empty matches advance, and stop at maxhits
  EXPECT_EQ(findHit(result, "EMPTY")->count, 3u);
}

TEST(RulesEngine, ScoresScoreSetsAndDescriptions) {
  const char* rules =
      "body A /x/\nbody B /x/\nbody C /x/\nbody T_NEW /x/\nbody __SUB /x/\nbody NICE /x/\n"
      "body OFF /x/\nscore A 1.5\nscore B 0.1 0.2 0.3 0.4\nscore NICE -2\ntflags NICE nice\n"
      "score OFF 0\ndescribe A Looks like spam\n";
  for (unsigned set = 0; set < 4; ++set) {
    LoadOptions options;
    options.score_set = set;
    auto loaded = load(rules, options);
    ScanResult result = scan(*loaded.set, message({}, "x"), "", {});
    EXPECT_THAT(hitNames(result), ElementsAre("A", "B", "C", "T_NEW", "NICE"));
    EXPECT_DOUBLE_EQ(findHit(result, "B")->score, 0.1 * (set + 1)) << set;
    EXPECT_DOUBLE_EQ(findHit(result, "A")->score, 1.5);
    EXPECT_DOUBLE_EQ(findHit(result, "C")->score, 1.0);
    EXPECT_DOUBLE_EQ(findHit(result, "T_NEW")->score, 0.01);
    EXPECT_DOUBLE_EQ(findHit(result, "NICE")->score, -2.0);
    EXPECT_EQ(findHit(result, "A")->description, "Looks like spam");
    EXPECT_DOUBLE_EQ(result.score, 1.5 + 0.1 * (set + 1) + 1.0 + 0.01 - 2.0);
  }
}

TEST(RulesEngine, CatastrophicPatternHitsTheLimitQuickly) {
  LoadOptions options;
  options.match_limit = 10000;
  for (bool jit : {true, false}) {
    options.jit = jit;
    auto loaded =
        load("body EVIL /(a+)+$/\nbody FINE /aaa/\nheader H Subject =~ /^(x+x+)+$/\n", options);
    ASSERT_THAT(texts(loaded.report.errors), IsEmpty());
    std::string body(5000, 'a');
    body += '!';
    auto started = std::chrono::steady_clock::now();
    ScanResult result =
        scan(*loaded.set, message({header("Subject", std::string(100, 'x') + "!")}, body), "", {});
    auto elapsed = std::chrono::steady_clock::now() - started;
    EXPECT_THAT(hitNames(result), ElementsAre("FINE")) << jit;
    EXPECT_EQ(result.limit_hits, 2u) << jit;
    EXPECT_THAT(result.limited_rules, ElementsAre("EVIL", "H")) << jit;
    EXPECT_LT(elapsed, std::chrono::seconds(2)) << jit;
  }
}

TEST(RulesEngine, DepthLimitWithoutJit) {
  LoadOptions options;
  options.jit = false;
  options.depth_limit = 50;
  auto loaded = load("body DEEP /^(?:a|b)*c/\n", options);
  ScanResult result = scan(*loaded.set, message({}, std::string(1000, 'a') + "c"), "", {});
  EXPECT_THAT(hitNames(result), IsEmpty());
  EXPECT_EQ(result.limit_hits, 1u);
}

TEST(RulesEngine, ScansConcurrently) {
  auto loaded = load("body B /pills/\ntflags B multiple\n");
  auto m = message({}, "pills pills pills");
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        ScanResult result = scan(*loaded.set, m, "", {});
        if (result.hits.size() == 1 && result.hits[0].count == 3) ++good;
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(good.load(), 800);
}

}  // namespace
}  // namespace spamgate::rules
