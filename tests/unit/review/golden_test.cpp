// Golden tests: tests/data/review/decisions.jsonl is a hand-written log (every action, the
// three event kinds, five hours, five lines that are not decisions, one line ending in CRLF);
// the expected files next to it were worked out from it by hand.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "review/review.h"
#include "review/time_window.h"

namespace spamgate::review {
namespace {

const std::string kDir = SPAMGATE_SOURCE_DIR "/tests/data/review/";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Output {
  int status;
  std::string out;
  std::string err;
};

Output run(Options o, const std::string& file = "decisions.jsonl") {
  if (o.files.empty()) o.files = {kDir + file};
  std::ostringstream out, err;
  const int status = review(o, out, err);
  return {status, out.str(), err.str()};
}

Window window(const char* since, const char* until) {
  return {*parseWhen(since, 0), *parseWhen(until, 0)};
}

void expectGolden(const Options& o, const std::string& expected) {
  for (const char* file : {"decisions.jsonl", "decisions.jsonl.gz"}) {
    const Output r = run(o, file);
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.err, "spamgate review: skipped 5 lines that are not decisions\n");
    EXPECT_EQ(r.out, slurp(kDir + expected)) << file << " vs " << expected;
  }
}

TEST(Golden, Summary) {
  Options o;
  expectGolden(o, "summary.txt");
  o.json = true;
  expectGolden(o, "summary.json");
  o.filter.window = window("2026-11-30T09:00", "2026-11-30T10:00");
  expectGolden(o, "summary-0900.json");
}

TEST(Golden, ListWithFilters) {
  Options o;
  o.view = View::List;
  o.filter.actions = {"reject"};
  o.filter.network = checks::parseCidr("198.51.100.0/24");
  expectGolden(o, "list-reject-198.txt");
  o.json = true;
  expectGolden(o, "list-reject-198.json");
}

TEST(Golden, Explain) {
  Options o;
  o.view = View::Explain;
  o.explain_id = "a000000000000002";  // ids are matched case-insensitively
  expectGolden(o, "explain-A000000000000002.txt");
  o.json = true;
  expectGolden(o, "explain-A000000000000002.json");
}

TEST(Golden, ExplainNotFound) {
  Options o;
  o.view = View::Explain;
  o.explain_id = "A0000000000000FF";  // only on the truncated line
  const Output r = run(o);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("no decision with id A0000000000000FF in the 24 decisions read"),
            std::string::npos)
      << r.err;
}

TEST(Golden, FalsePositives) {
  Options o;
  o.view = View::FalsePositives;
  expectGolden(o, "false-positives.txt");
  o.json = true;
  o.filter.window = window("2026-11-30T09:00", "2026-11-30T11:00");
  expectGolden(o, "false-positives-0900-1100.json");
}

// The ids --list prints for a filter, in time order.
std::vector<std::string> ids(const Options& filter_only) {
  Options o = filter_only;
  o.view = View::List;
  std::vector<std::string> out;
  const std::string text = run(o).out;
  const std::regex id(R"(Z  (A[0-9A-F]{15})  )");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), id); it != std::sregex_iterator();
       ++it)
    out.push_back((*it)[1]);
  return out;
}

using Ids = std::vector<std::string>;

TEST(Golden, FromAndRcptFilters) {
  Options o;
  o.filter.from = parseAddressMatch("example.org");  // Bob@Example.org and bounce@Example.ORG too
  EXPECT_EQ(ids(o),
            (Ids{"A00000000000001A", "A000000000000001", "A000000000000005", "A000000000000008",
                 "A00000000000000C", "A000000000000011", "A000000000000015", "A000000000000016"}));
  o.filter.window.since_ms = *parseWhen("2026-11-30T09:00", 0);
  EXPECT_EQ(ids(o), (Ids{"A000000000000008", "A00000000000000C", "A000000000000011",
                         "A000000000000015", "A000000000000016"}));
  o = {};
  o.filter.from = parseAddressMatch("<alice@example.org>");
  EXPECT_EQ(ids(o), (Ids{"A00000000000001A", "A000000000000001", "A00000000000000C",
                         "A000000000000011", "A000000000000016"}));
  o.filter.from = parseAddressMatch("<>");
  EXPECT_EQ(ids(o), Ids{"A000000000000007"});
  o = {};
  o.filter.rcpt = parseAddressMatch("<b@example.com>");
  EXPECT_EQ(ids(o), Ids{"A000000000000014"});
  o.filter.rcpt = parseAddressMatch("carol");  // a recipient, not carol@example.org the sender
  EXPECT_EQ(ids(o), Ids{"A00000000000000B"});
}

TEST(Golden, RuleIdAndIpFilters) {
  Options o;
  o.filter.rule = "MISSING_DATE";
  o.filter.actions = {"tag"};
  EXPECT_EQ(ids(o), (Ids{"A000000000000006", "A00000000000000B"}));
  o = {};
  o.filter.id = "a000000000000009";
  EXPECT_EQ(ids(o), Ids{"A000000000000009"});
  o = {};
  o.filter.network = checks::parseCidr("2001:db8::/32");
  EXPECT_EQ(ids(o), (Ids{"A000000000000007", "A00000000000000B", "A000000000000019"}));
}

TEST(Golden, SeveralFilesAndUnreadableOnes) {
  Options o;
  o.json = true;
  o.files = {kDir + "decisions.jsonl", kDir + "absent.jsonl", kDir + "decisions.jsonl.gz"};
  const Output r = run(o);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("absent.jsonl: No such file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("skipped 10 lines"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find(R"("lines":58,"skipped_lines":10,)"), std::string::npos);
  EXPECT_NE(r.out.find(R"("decisions":48,)"), std::string::npos);
  EXPECT_NE(r.out.find(R"("reject":20,)"), std::string::npos);
}

}  // namespace
}  // namespace spamgate::review
