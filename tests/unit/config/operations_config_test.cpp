// Config of operations: [quarantine] and [metrics]. Defaults, every key, and errors.
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"

namespace spamgate::config {
namespace {

std::string errorOf(const std::string& text) {
  try {
    parse(text, "t.toml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(OperationsConfigDefaults, QuarantineKeepsRejectsAndMetricsAreOff) {
  const Snapshot c = parse("", "t.toml");
  EXPECT_EQ(c->quarantine.dir, "var/quarantine");
  EXPECT_EQ(c->quarantine.keep, std::vector<std::string>{"reject"});
  EXPECT_EQ(c->quarantine.retention_days, 30u);
  EXPECT_EQ(c->quarantine.max_megabytes, 1024u);
  EXPECT_TRUE(c->quarantine.keeps("reject"));
  EXPECT_FALSE(c->quarantine.keeps("tag"));
  EXPECT_FALSE(c->metrics.listen.has_value());
}

TEST(OperationsConfigParse, EveryKey) {
  const Snapshot c = parse(R"([quarantine]
dir = "/var/lib/spamgate/quarantine"
keep = ["reject", "tag"]
retention_days = 7
max_megabytes = 200
[metrics]
listen = "127.0.0.1:9187"
)",
                           "t.toml");
  EXPECT_EQ(c->quarantine.dir, "/var/lib/spamgate/quarantine");
  EXPECT_TRUE(c->quarantine.keeps("tag"));
  EXPECT_FALSE(c->quarantine.keeps("tempfail"));
  EXPECT_EQ(c->quarantine.retention_days, 7u);
  EXPECT_EQ(c->quarantine.max_megabytes, 200u);
  ASSERT_TRUE(c->metrics.listen.has_value());
  EXPECT_EQ(c->metrics.listen->text(), "127.0.0.1:9187");
}

TEST(OperationsConfigParse, EmptyDirTurnsTheQuarantineOff) {
  const Snapshot c = parse("[quarantine]\ndir = \"\"\n", "t.toml");
  EXPECT_FALSE(c->quarantine.enabled());
  EXPECT_FALSE(c->quarantine.keeps("reject"));
}

TEST(OperationsConfigErrors, NameFileLineAndKey) {
  EXPECT_EQ(errorOf("[quarantine]\nkeep = [\"reject\", \"drop\"]\n"),
            "t.toml:2: key 'quarantine.keep': \"drop\": must be one of \"reject\", \"tempfail\", "
            "\"tag\", "
            "\"accept\"");
  EXPECT_NE(errorOf("[quarantine]\nretention_days = 0\n")
                .find("t.toml:2: key "
                      "'quarantine.retention_days'"),
            std::string::npos);
  EXPECT_NE(errorOf("[metrics]\nlisten = \"localhost\"\n").find("t.toml:2: key 'metrics.listen'"),
            std::string::npos);
  EXPECT_NE(errorOf("[metrics]\nport = 9187\n").find("metrics.port"), std::string::npos);
}

}  // namespace
}  // namespace spamgate::config
