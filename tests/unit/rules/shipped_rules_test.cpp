// The rules shipped in rules/: they load as `spamgate serve` loads them (checks::rulesOptions:
// the other checks' symbols known to metas) without errors or warnings, every scored rule has
// a score and a describe line, and every scored rule is shown by two messages parsed as the
// gateway parses them: one that makes it hit and a similar one that does not.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "checks/rules.h"
#include "config/config.h"
#include "mime/message.h"
#include "rules/internal.h"
#include "rules/rules.h"

namespace spamgate::rules {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::IsEmpty;
using ::testing::Not;

std::string rulesDir() {
  return std::string(SPAMGATE_SOURCE_DIR) + "/rules";
}

struct Shipped {
  std::shared_ptr<const RuleSet> set;
  LoadReport report;
};

const Shipped& shipped() {
  static const Shipped loaded = [] {
    Shipped out;
    out.set = loadRules({rulesDir()}, checks::rulesOptions(config::Rules{}), out.report);
    return out;
  }();
  return loaded;
}

std::vector<std::string> texts(const std::vector<Diagnostic>& list) {
  std::vector<std::string> out;
  for (const Diagnostic& d : list)
    out.push_back(d.text());
  return out;
}

// A message as a client sends it: header fields in order, then one body part.
class Mail {
 public:
  Mail& set(const std::string& name, const std::string& value) {
    auto it = std::find_if(fields_.begin(), fields_.end(),
                           [&](const auto& field) { return field.first == name; });
    if (it == fields_.end()) {
      fields_.emplace_back(name, value);
    } else {
      it->second = value;
    }
    return *this;
  }
  Mail& drop(const std::string& name) {
    std::erase_if(fields_, [&](const auto& field) { return field.first == name; });
    return *this;
  }
  Mail& body(std::string text, std::string type = "text/plain; charset=us-ascii") {
    body_ = std::move(text);
    return set("Content-Type", type);
  }
  std::string text() const {
    std::string out;
    for (const auto& [name, value] : fields_)
      out += name + ":" + (value.empty() ? "" : " ") + value + "\r\n";
    return out + "\r\n" + body_;
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
  std::string body_;
};

// Clean by every shipped rule (checked below): each case changes one thing.
Mail base() {
  return Mail()
      .set("From", "Alice Example <alice@example.org>")
      .set("To", "Bob Example <bob@example.net>")
      .set("Subject", "Lunch on Friday")
      .set("Date", "Mon, 01 Jan 2024 10:00:00 +0000")
      .set("Message-ID", "<base-1@example.org>")
      .set("MIME-Version", "1.0")
      .body("Hi Bob,\r\n\r\nshall we meet for lunch on Friday at noon?\r\n\r\nAlice\r\n");
}

Mail withBody(const std::string& text) {
  return base().body(text);
}

Mail withHtml(const std::string& html) {
  return base().body(html, "text/html; charset=utf-8");
}

const char* const kGtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

struct Case {
  std::string rule;
  Mail hit;
  Mail miss;
  std::vector<std::string> hit_external = {};
  std::vector<std::string> miss_external = {};
};

void PrintTo(const Case& c, std::ostream* out) {
  *out << c.rule;
}

std::vector<Case> cases() {
  const std::string gtube = kGtube;
  return {
      {"GTUBE", withBody("Test:\r\n" + gtube + "\r\n"),
       withBody("Test:\r\n" + gtube.substr(0, gtube.size() - 1) + "\r\n")},
      {"MISSING_DATE", base().drop("Date"), base().set("Date", "Tue, 02 Jan 2024 08:00:00 +0100")},
      {"MISSING_MESSAGE_ID", base().drop("Message-ID"), base().set("Message-ID", "<x@y.example>")},
      {"MISSING_SUBJECT", base().drop("Subject"), base().set("Subject", "")},
      {"EMPTY_SUBJECT", base().set("Subject", "   "), base().drop("Subject")},
      {"SUBJECT_ALL_CAPS", base().set("Subject", "BUY CHEAP WATCHES NOW!!!"),
       base().set("Subject", "BUY CHEAP WATCHES now")},
      {"SUBJECT_MONEY", base().set("Subject", "Earn $5000 a week from home"),
       base().set("Subject", "The $50 you lent me")},
      {"FROM_NAME_IS_OTHER_ADDRESS",
       base().set("From", "\"service@paypal.com\" <billing@phish.example>"),
       base().set("From", "\"PayPal Service\" <billing@phish.example>")},
      {"TO_UNDISCLOSED", base().set("To", "undisclosed-recipients:;"),
       base().set("To", "Recipients of the list <list@example.net>")},
      {"X_MAILER_BULK", base().set("X-Mailer", "Super Bulk Mailer 4.2"),
       base().set("X-Mailer", "Mozilla Thunderbird 115.6")},
      {"FREEMAIL_REPLY_TO", base().set("Reply-To", "<claims.office@gmail.com>"),
       base()
           .set("From", "Alice Example <alice.example@gmail.com>")
           .set("Reply-To", "<alice.example@gmail.com>")},
      {"BODY_LOTTERY_WIN",
       withBody("Dear friend, you have won the first prize in the national lottery.\r\n"),
       withBody("Dear friend, you have won the chess tournament.\r\n")},
      {"BODY_INHERITANCE",
       withBody("You are the beneficiary of an estate worth 12.5 million dollars.\r\n"),
       withBody("You are the beneficiary named in the pension plan.\r\n")},
      {"BODY_CLICK_BELOW", withBody("Click here to claim your reward today.\r\n"),
       withBody("Click here to see the photos from the trip.\r\n")},
      {"BODY_URGENT_REPLY", withBody("This needs your urgent attention.\r\n"),
       withBody("Nothing urgent, reply when you can.\r\n")},
      {"BODY_PHARMA", withBody("Cheap Viagra, no prescription.\r\n"),
       withBody("Cheap vitamins, no prescription.\r\n")},
      {"BODY_ACCOUNT_VERIFY", withBody("Please verify your account within 24 hours.\r\n"),
       withBody("Please verify your booking within 24 hours.\r\n")},
      {"URI_NUMERIC_HOST", withBody("Log in at http://192.0.2.44/login.php now.\r\n"),
       withBody("Log in at http://www.example.org/192.0.2.44 now.\r\n")},
      {"URI_SHORTENER", withBody("The photos: https://bit.ly/3xYzAbC\r\n"),
       withBody("The photos: https://bitly.example.org/3xYzAbC\r\n")},
      {"HTML_HIDDEN_TEXT",
       withHtml("<html><body><p>Hello</p><div style=\"display: none\">cheap words</div>"
                "</body></html>\r\n"),
       withHtml("<html><body><p>Hello</p><div style=\"display: block\">cheap words</div>"
                "</body></html>\r\n")},
      {"PHISH_UNAUTHENTICATED",
       withBody("Please verify your account within 24 hours.\r\n"),
       withBody("Please verify your account within 24 hours.\r\n"),
       {"SPF_FAIL"},
       {"SPF_PASS"}},
      {"LISTED_AND_SPAMMY",
       withBody("Cheap Viagra, no prescription.\r\n"),
       withBody("Cheap Viagra, no prescription.\r\n"),
       {"DNSBL_LISTED"},
       {"DNSWL_LISTED"}},
  };
}

std::vector<std::string> hitsOf(const Mail& mail, const std::vector<std::string>& external) {
  const std::string raw = mail.text();
  const ScanResult result = scan(*shipped().set, mime::parseMessage(raw), raw, external);
  std::vector<std::string> names;
  for (const Hit& hit : result.hits)
    names.push_back(hit.name);
  return names;
}

std::set<std::string> scoredRules() {
  std::set<std::string> out;
  for (const detail::Rule& rule : shipped().set->rules) {
    if (rule.reported) out.insert(rule.name);
  }
  return out;
}

// Names on `score` lines of the shipped files.
std::set<std::string> scoreLines() {
  std::set<std::string> out;
  for (const auto& entry : fs::directory_iterator(rulesDir())) {
    if (entry.path().extension() != ".cf") continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string directive, name;
      if (words >> directive >> name && directive == "score") out.insert(name);
    }
  }
  return out;
}

TEST(ShippedRules, LoadWithoutErrorsOrWarnings) {
  const Shipped& s = shipped();
  EXPECT_THAT(texts(s.report.errors), IsEmpty());
  EXPECT_THAT(texts(s.report.warnings), IsEmpty());
  EXPECT_THAT(texts(s.report.notes), IsEmpty());
  EXPECT_THAT(s.report.skipped, IsEmpty());
  EXPECT_GE(s.report.files, 4u);
  EXPECT_GE(ruleCount(*s.set), 20u);
}

TEST(ShippedRules, EveryScoredRuleIsDescribedScoredAndHasCases) {
  const std::set<std::string> scored = scoredRules();
  const std::set<std::string> lines = scoreLines();
  for (const detail::Rule& rule : shipped().set->rules) {
    if (!rule.reported) continue;
    EXPECT_FALSE(rule.description.empty()) << rule.name << " has no describe line";
    EXPECT_TRUE(lines.contains(rule.name)) << rule.name << " has no score line";
    EXPECT_GT(rule.score, 0) << rule.name;
  }
  std::set<std::string> tested;
  for (const Case& c : cases())
    tested.insert(c.rule);
  EXPECT_EQ(tested, scored) << "every scored shipped rule needs a case below, and only those";
}

TEST(ShippedRules, BaseMessageHitsNothing) {
  EXPECT_THAT(hitsOf(base(), {}), IsEmpty());
  EXPECT_THAT(hitsOf(base(), {"SPF_FAIL", "DNSBL_LISTED", "DMARC_FAIL_NONE"}), IsEmpty());
}

// Hostile but cheap to send: long runs that make a backtracking pattern quadratic. Every
// shipped rule must stay within the default PCRE2 limits on them (a rule over a limit does not
// hit and costs the limit's worth of work per message).
TEST(ShippedRules, LongRepetitiveInputStaysWithinTheMatchLimits) {
  const std::vector<Mail> mails = {
      base().set("Subject", std::string(400, 'A') + " x"),
      base().set("Subject", std::string(900, '1')),
      base().set("Subject", "$" + std::string(900, ' ')),
      base().set("From", std::string(900, '"') + " <a@b.example>"),
      base().set("Reply-To", std::string(900, '@')),
      withBody(std::string(20000, '<')),
      withHtml(std::string(20000, '<')),
      withHtml(std::string(20000, '<') + " style='color: red'>"),
      withHtml("<p style='" + std::string(20000, '"') + "'>"),
      withHtml("<p style=\"" + std::string(20000, 'a')),
      withHtml("<p " + std::string(20000, ' ')),
      withBody([] {
        std::string text;
        for (int i = 0; i < 2000; ++i)
          text += "you have won click here urgent inheritance verify your ";
        return text;
      }()),
      withBody("http://" + std::string(20000, '1')),
  };
  for (const Mail& mail : mails) {
    const std::string raw = mail.text();
    const ScanResult result = scan(*shipped().set, mime::parseMessage(raw), raw, {});
    EXPECT_EQ(result.limit_hits, 0u)
        << ::testing::PrintToString(result.limited_rules) << " on " << raw.substr(0, 300);
  }
}

class ShippedRule : public ::testing::TestWithParam<Case> {};

TEST_P(ShippedRule, HitsAndSimilarMessageDoesNot) {
  const Case& c = GetParam();
  EXPECT_THAT(hitsOf(c.hit, c.hit_external), Contains(c.rule)) << c.hit.text();
  EXPECT_THAT(hitsOf(c.miss, c.miss_external), Not(Contains(c.rule))) << c.miss.text();
}

std::string caseName(const ::testing::TestParamInfo<Case>& param) {
  return param.param.rule;
}

INSTANTIATE_TEST_SUITE_P(Shipped, ShippedRule, ::testing::ValuesIn(cases()), caseName);

}  // namespace
}  // namespace spamgate::rules
