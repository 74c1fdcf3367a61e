#include "review/parser.h"

#include <gtest/gtest.h>

#include <string>

#include "review/render_json.h"
#include "review/render_text.h"

namespace spamgate::review {
namespace {

constexpr const char* kLine =
    R"({"time":"2026-11-30T01:58:35.277Z","event":"transaction","id":"01M8N2SSGC9Y9RDP",)"
    R"("client":{"ip":"127.0.0.1","port":45766},"helo":"vm","tls":null,)"
    R"("mail_from":"alice@example.org","rcpts":[{"address":"bob@example.com","reply":)"
    R"({"code":250,"enhanced":"2.1.5","text":"Ok"}}],"size":260,"message_id":"<m@vm>",)"
    R"("action":"reject","reason":"spf: SPF_FAIL","reply":{"code":550,"enhanced":"5.7.23",)"
    R"("text":"no id=01M8N2SSGC9Y9RDP"},"score":2.5,"symbols":[{"name":"SPF_FAIL","score":2.5,)"
    R"("detail":"example.org"}],"backend":{"reply":"","queue_id":""},"duration_ms":7})";

class ParserTest : public ::testing::Test {
 protected:
  // The parser reads up to kLinePadding octets past the line, as LineReader guarantees.
  bool parse(const std::string& line, bool full = true) {
    buffer_ = line + std::string(kLinePadding, ' ');
    return parser_.parse(std::string_view(buffer_.data(), line.size()), full, record_);
  }
  RecordParser parser_;
  Record record_;
  std::string buffer_;
};

TEST_F(ParserTest, ReadsEveryField) {
  ASSERT_TRUE(parse(kLine));
  EXPECT_EQ(record_.id, "01M8N2SSGC9Y9RDP");
  EXPECT_EQ(record_.client_ip, "127.0.0.1");
  EXPECT_EQ(record_.client_port, 45766);
  EXPECT_TRUE(record_.has_mail);
  EXPECT_EQ(record_.mail_from, "alice@example.org");
  ASSERT_EQ(record_.rcpts.size(), 1u);
  EXPECT_EQ(record_.rcpts[0].address, "bob@example.com");
  EXPECT_EQ(record_.rcpts[0].reply.code, 250);
  EXPECT_EQ(record_.size, 260u);
  EXPECT_EQ(record_.action, "reject");
  EXPECT_EQ(record_.reply.enhanced, "5.7.23");
  EXPECT_EQ(record_.score, 2.5);
  ASSERT_EQ(record_.symbols.size(), 1u);
  EXPECT_EQ(record_.symbols[0].detail, "example.org");
  EXPECT_EQ(record_.duration_ms, 7);
  EXPECT_TRUE(record_.tls.empty());
}

TEST_F(ParserTest, SummaryModeSkipsDetails) {
  ASSERT_TRUE(parse(kLine, false));
  EXPECT_EQ(record_.symbols[0].name, "SPF_FAIL");
  EXPECT_TRUE(record_.symbols[0].detail.empty());
  EXPECT_TRUE(record_.helo.empty());
  EXPECT_EQ(record_.reply.code, 0);
}

TEST_F(ParserTest, NullSenderAndConnectionEvents) {
  ASSERT_TRUE(
      parse(R"({"time":"2026-11-30T01:00:00Z","event":"transaction","id":"X","mail_from":"",)"
            R"("action":"accept"})"));
  EXPECT_TRUE(record_.has_mail);
  EXPECT_TRUE(record_.mail_from.empty());
  ASSERT_TRUE(
      parse(R"({"time":"2026-11-30T01:00:00Z","event":"connection","id":"Y","mail_from":null,)"
            R"("action":"disconnect"})"));
  EXPECT_FALSE(record_.has_mail);
  EXPECT_TRUE(record_.symbols.empty());  // nothing left over from the line before
}

TEST_F(ParserTest, UnknownFieldsAndEventsAreIgnored) {
  ASSERT_TRUE(
      parse(R"({"future":{"a":[1,{"b":null}]},"time":"2026-11-30T01:00:00Z","event":"release",)"
            R"("id":"Z","action":"accept","by":"operator"})"));
  EXPECT_EQ(record_.event, "release");
  EXPECT_EQ(record_.id, "Z");
}

TEST_F(ParserTest, QuarantineAndReleaseFieldsReachTheExplanation) {
  ASSERT_TRUE(
      parse(R"({"time":"2026-11-30T01:00:00Z","event":"transaction","id":"01M8N2SSGC9Y9RDP",)"
            R"("action":"reject","quarantined":true,"duration_ms":3})"));
  EXPECT_TRUE(record_.quarantined);
  const std::string kept = explainText(toDecision(record_));
  EXPECT_NE(kept.find("kept: spamgate scan --id 01M8N2SSGC9Y9RDP, spamgate release "
                      "01M8N2SSGC9Y9RDP"),
            std::string::npos)
      << kept;
  EXPECT_NE(explainJson(toDecision(record_), Meta{}).find(R"("quarantined":true)"),
            std::string::npos);
  ASSERT_TRUE(parse(R"({"time":"2026-11-30T02:00:00Z","event":"release","id":"01M8N3AAAAAAAAAA",)"
                    R"("action":"accept","quarantined":false,"release_of":"01M8N2SSGC9Y9RDP"})"));
  EXPECT_FALSE(record_.quarantined);
  EXPECT_EQ(record_.release_of, "01M8N2SSGC9Y9RDP");
  const std::string release = explainText(toDecision(record_));
  EXPECT_NE(release.find("release of  01M8N2SSGC9Y9RDP"), std::string::npos) << release;
  EXPECT_EQ(release.find("kept:"), std::string::npos);
}

TEST_F(ParserTest, WrongTypesKeepDefaults) {
  ASSERT_TRUE(
      parse(R"({"time":"2026-11-30T01:00:00Z","event":"transaction","id":"X","action":"tag",)"
            R"("score":"high","client":"nowhere","symbols":[7,{"name":"A","score":1}]})"));
  EXPECT_EQ(record_.score, 0);
  EXPECT_TRUE(record_.client_ip.empty());
  ASSERT_EQ(record_.symbols.size(), 1u);
  EXPECT_EQ(record_.symbols[0].name, "A");
}

TEST_F(ParserTest, RefusesWhatIsNotADecision) {
  const std::string line = kLine;
  for (const std::string& bad :
       {std::string("not json"), std::string("[1,2,3]"), std::string("42"), std::string("\"text\""),
        std::string("{}"), line.substr(0, line.size() / 2), line.substr(0, line.size() - 1),
        line + " trailing", line.substr(0, 40) + "\xff\xfe" + line.substr(42),
        std::string(R"({"time":"2026-11-30T01:00:00Z","event":"transaction","id":"X"})"),
        std::string(R"({"time":"yesterday","event":"transaction","id":"X","action":"accept"})"),
        std::string(R"({"time":1,"event":"transaction","id":"X","action":"accept"})")}) {
    EXPECT_FALSE(parse(bad)) << bad;
  }
  EXPECT_TRUE(parse(kLine));  // the parser recovers
}

}  // namespace
}  // namespace spamgate::review
