// SpamAssassin's stock rules (Debian's spamassassin package, /usr/share/spamassassin/*.cf, or
// the directory named by SPAMGATE_SA_RULES): they load without errors, at least 95% of their
// regex rules compile with PCRE2, and GTUBE scores on a scan.
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "rules_test_util.h"

namespace spamgate::rules {
namespace {

using testing::hitNames;

std::string stockDirectory() {
  const char* env = std::getenv("SPAMGATE_SA_RULES");
  return env != nullptr ? env : "/usr/share/spamassassin";
}

TEST(StockRules, SpamAssassinRegexRulesCompile) {
  std::string dir = stockDirectory();
  if (!std::filesystem::exists(dir + "/50_scores.cf")) {
    GTEST_SKIP() << "SpamAssassin's rules are not installed in " << dir
                 << " (apt-get install spamassassin, or set SPAMGATE_SA_RULES)";
  }
  LoadOptions options;
  options.skip_bad_regex = true;
  LoadReport report;
  auto set = loadRules({dir}, options, report);
  std::size_t compiled = 0;
  std::size_t failed = 0;
  for (const char* kind : {"header", "body", "rawbody", "uri", "full"}) {
    compiled += report.loaded[kind];
    failed += report.failed[kind];
  }
  ASSERT_GT(compiled + failed, 500u) << "too few regex rules: is " << dir << " complete?";
  double percent = 100.0 * static_cast<double>(compiled) / static_cast<double>(compiled + failed);
  std::cout << "SpamAssassin regex rules compiled: " << compiled << " of " << compiled + failed
            << " (" << percent << "%), metas " << report.loaded["meta"] << ", rules "
            << ruleCount(*set) << "\n";
  for (const auto& [reason, count] : report.skipped) {
    std::cout << "  skipped " << reason << ": " << count << "\n";
  }
  for (const Diagnostic& d : report.warnings) {
    if (d.message.find("bad regex") != std::string::npos) std::cout << "  " << d.text() << "\n";
  }
  RecordProperty("compiled_percent", std::to_string(percent));
  EXPECT_GE(percent, 95.0);
  EXPECT_TRUE(report.errors.empty()) << testing::texts(report.errors).front();

  mime::Message gtube =
      testing::message({testing::header("Subject", "test")},
                       "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n");
  ScanResult result = scan(*set, gtube, "", {});
  EXPECT_GE(result.score, 1000.0) << ::testing::PrintToString(hitNames(result));
}

}  // namespace
}  // namespace spamgate::rules
