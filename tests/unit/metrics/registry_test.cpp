// Registry: counters, gauges and histograms by label, and their exact Prometheus text.
#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace spamgate::metrics {
namespace {

// The lines of one family in an exposition: its HELP line up to the next family's.
std::string block(const std::string& text, const std::string& name) {
  const std::string start = "# HELP " + name + " ";
  const auto from = text.find(start);
  if (from == std::string::npos) return "";
  const auto to = text.find("# HELP ", from + start.size());
  return text.substr(from, to == std::string::npos ? std::string::npos : to - from);
}

TEST(RegistryTest, StartsAtZero) {
  Registry r;
  EXPECT_EQ(r.value(id("connections_total")), 0);
  EXPECT_EQ(r.value(id("transactions_total"), "reject"), 0);
  EXPECT_EQ(r.value(id("message_size_bytes")), 0);
}

TEST(RegistryTest, CountsByLabel) {
  Registry r;
  r.add(id("transactions_total"), "accept");
  r.add(id("transactions_total"), "accept");
  r.add(id("transactions_total"), "reject");
  EXPECT_EQ(r.value(id("transactions_total"), "accept"), 2);
  EXPECT_EQ(r.value(id("transactions_total"), "reject"), 1);
  EXPECT_EQ(r.value(id("transactions_total"), "tag"), 0);
}

TEST(RegistryTest, UnknownLabelValueGoesToOtherOrNowhere) {
  Registry r;
  r.add(id("rejections_total"), "no_such_check");  // kReasons has "other"
  EXPECT_EQ(r.value(id("rejections_total"), "other"), 1);
  r.add(id("transactions_total"), "bogus");  // kActions has no "other": not counted
  EXPECT_EQ(r.value(id("transactions_total"), "bogus"), std::nullopt);
  for (const auto action : kActions)
    EXPECT_EQ(r.value(id("transactions_total"), action), 0) << action;
  r.add(id("replies_total"), "99");
  r.add(id("replies_total"), "600");
  r.add(id("replies_total"), "25x");
  EXPECT_EQ(r.render().find("spamgate_replies_total{"), std::string::npos);
}

TEST(RegistryTest, GaugeGoesUpAndDown) {
  Registry r;
  r.add(id("connections_current"));
  r.add(id("connections_current"));
  r.add(id("connections_current"), {}, -1);
  EXPECT_EQ(r.value(id("connections_current")), 1);
  r.add(id("connections_current"), {}, -2);
  EXPECT_EQ(r.value(id("connections_current")), -1);
  EXPECT_NE(r.render().find("\nspamgate_connections_current -1\n"), std::string::npos);
}

TEST(RegistryTest, RendersCounterAndGaugeExactly) {
  Registry r;
  r.add(id("connections_total"), {}, 3);
  r.add(id("connections_current"));
  const std::string text = r.render();
  EXPECT_EQ(block(text, "spamgate_connections_total"),
            "# HELP spamgate_connections_total Client connections accepted.\n"
            "# TYPE spamgate_connections_total counter\n"
            "spamgate_connections_total 3\n");
  EXPECT_EQ(block(text, "spamgate_connections_current"),
            "# HELP spamgate_connections_current Client connections open now.\n"
            "# TYPE spamgate_connections_current gauge\n"
            "spamgate_connections_current 1\n");
}

TEST(RegistryTest, RendersEveryFixedLabelValue) {
  Registry r;
  r.add(id("transactions_total"), "tag", 4);
  const std::string text = r.render();
  EXPECT_EQ(
      block(text, "spamgate_transactions_total")
          .substr(block(text, "spamgate_transactions_total").find("spamgate_transactions_total{")),
      "spamgate_transactions_total{action=\"accept\"} 0\n"
      "spamgate_transactions_total{action=\"tag\"} 4\n"
      "spamgate_transactions_total{action=\"tempfail\"} 0\n"
      "spamgate_transactions_total{action=\"reject\"} 0\n"
      "spamgate_transactions_total{action=\"disconnect\"} 0\n"
      "spamgate_transactions_total{action=\"none\"} 0\n");
}

TEST(RegistryTest, RendersOnlyReplyCodesSeen) {
  Registry r;
  r.add(id("replies_total"), "550");
  r.add(id("replies_total"), "250");
  r.add(id("replies_total"), "250");
  EXPECT_EQ(block(r.render(), "spamgate_replies_total"),
            "# HELP spamgate_replies_total Decisions by the code of the reply the client was "
            "given.\n"
            "# TYPE spamgate_replies_total counter\n"
            "spamgate_replies_total{code=\"250\"} 2\n"
            "spamgate_replies_total{code=\"550\"} 1\n");
}

TEST(RegistryTest, RendersHistogramExactly) {
  Registry r;
  r.observe(id("message_size_bytes"), {}, 1024);  // on a bound: in that bucket (le is <=)
  r.observe(id("message_size_bytes"), {}, 1025);
  r.observe(id("message_size_bytes"), {}, 100000000);  // over the last bound: +Inf only
  EXPECT_EQ(block(r.render(), "spamgate_message_size_bytes"),
            "# HELP spamgate_message_size_bytes Octets of message data received per "
            "transaction.\n"
            "# TYPE spamgate_message_size_bytes histogram\n"
            "spamgate_message_size_bytes_bucket{le=\"1024\"} 1\n"
            "spamgate_message_size_bytes_bucket{le=\"4096\"} 2\n"
            "spamgate_message_size_bytes_bucket{le=\"16384\"} 2\n"
            "spamgate_message_size_bytes_bucket{le=\"65536\"} 2\n"
            "spamgate_message_size_bytes_bucket{le=\"262144\"} 2\n"
            "spamgate_message_size_bytes_bucket{le=\"1048576\"} 2\n"
            "spamgate_message_size_bytes_bucket{le=\"4194304\"} 2\n"
            "spamgate_message_size_bytes_bucket{le=\"16777216\"} 2\n"
            "spamgate_message_size_bytes_bucket{le=\"52428800\"} 2\n"
            "spamgate_message_size_bytes_bucket{le=\"+Inf\"} 3\n"
            "spamgate_message_size_bytes_sum 100002049\n"
            "spamgate_message_size_bytes_count 3\n");
  EXPECT_EQ(r.value(id("message_size_bytes")), 3);
}

TEST(RegistryTest, RendersLabelledHistogramInSeconds) {
  Registry r;
  r.observe(id("check_duration_seconds"), "dnsbl", 2500);     // 2.5 ms
  r.observe(id("check_duration_seconds"), "dnsbl", 1500000);  // 1.5 s
  const std::string text = block(r.render(), "spamgate_check_duration_seconds");
  for (const char* line : {
           "spamgate_check_duration_seconds_bucket{check=\"dnsbl\",le=\"0.001\"} 0\n",
           "spamgate_check_duration_seconds_bucket{check=\"dnsbl\",le=\"0.005\"} 1\n",
           "spamgate_check_duration_seconds_bucket{check=\"dnsbl\",le=\"1\"} 1\n",
           "spamgate_check_duration_seconds_bucket{check=\"dnsbl\",le=\"2.5\"} 2\n",
           "spamgate_check_duration_seconds_bucket{check=\"dnsbl\",le=\"+Inf\"} 2\n",
           "spamgate_check_duration_seconds_sum{check=\"dnsbl\"} 1.5025\n",
           "spamgate_check_duration_seconds_count{check=\"dnsbl\"} 2\n",
           "spamgate_check_duration_seconds_count{check=\"rules\"} 0\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "in\n" << text;
  }
}

// Every sample line belongs to a family announced by a TYPE line before it; names are unique.
TEST(RegistryTest, ExpositionIsWellFormed) {
  Registry r;
  std::istringstream in(r.render());
  std::set<std::string> typed;
  std::string line;
  std::string current;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      current = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(typed.insert(current).second) << current;
      continue;
    }
    if (line.rfind("#", 0) == 0) continue;
    const std::string name = line.substr(0, line.find_first_of("{ "));
    EXPECT_EQ(name.rfind(current, 0), 0u) << line;
    EXPECT_EQ(name.rfind("spamgate_", 0), 0u) << line;
  }
  EXPECT_EQ(typed.size(), kFamilyCount);
}

// docs/metrics.md lists every family and every label value.
TEST(RegistryTest, DocsListEveryMetric) {
  std::ifstream in(SPAMGATE_SOURCE_DIR "/docs/metrics.md");
  const std::string docs((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(docs.empty());
  for (const auto& family : kFamilies) {
    EXPECT_NE(docs.find("| `spamgate_" + std::string(family.name) + "` |"), std::string::npos)
        << family.name;
    for (const auto value : family.label.values)
      EXPECT_NE(docs.find("`" + std::string(value) + "`"), std::string::npos) << value;
  }
}

TEST(RegistryTest, ThreadsCountWithoutLosses) {
  Registry r;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r] {
      for (int i = 0; i < 10000; ++i) {
        r.add(id("transactions_total"), "accept");
        r.observe(id("message_size_bytes"), {}, 100);
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(r.value(id("transactions_total"), "accept"), 40000);
  EXPECT_EQ(r.value(id("message_size_bytes")), 40000);
}

}  // namespace
}  // namespace spamgate::metrics
