// SMTP smuggling (CVE-2023-51764 class): every non-standard end-of-DATA sequence in
// testdata/smtp/smuggling_eod_sequences.json, under both bare-newline policies, whole and
// byte-wise. Only <CR><LF>.<CR><LF> may end a message; the smuggled transaction behind a
// sequence must stay inside the first message or get it refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "driver.h"

namespace spamgate::smtp::test {
namespace {

struct Sequence {
  std::string name;
  std::string bytes;
};

// The string value after `"key":` at or after `from`; npos-safe, no escapes needed here.
std::string stringValue(const std::string& json, const std::string& key, std::size_t& from) {
  const auto k = json.find("\"" + key + "\"", from);
  if (k == std::string::npos) return from = std::string::npos, "";
  const auto open = json.find('"', json.find(':', k) + 1);
  const auto close = json.find('"', open + 1);
  from = close + 1;
  return json.substr(open + 1, close - open - 1);
}

std::string fromHex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

// Every {"name", "hex"} pair in the file, the control sequence included.
std::vector<Sequence> loadSequences(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const std::string json = text.str();
  std::vector<Sequence> out;
  for (std::size_t at = 0;;) {
    auto name = stringValue(json, "name", at);
    if (at == std::string::npos) break;
    auto hex = stringValue(json, "hex", at);
    if (at == std::string::npos) break;
    out.push_back({std::move(name), fromHex(hex)});
  }
  return out;
}

bool hasBareNewline(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')) return true;
    if (bytes[i] == '\r' && (i + 1 == bytes.size() || bytes[i + 1] != '\n')) return true;
  }
  return false;
}

const std::string kPath = std::string(SPAMGATE_TESTDATA) + "/smtp/smuggling_eod_sequences.json";
const std::string kBody = "Subject: test\r\n\r\nbody";
const std::string kSmuggled =
    "MAIL FROM:<smuggled@evil.example>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n"
    "Subject: smuggled\r\n\r\nsmuggled body\r\n.\r\n";

class SmugglingTest : public SessionTest {
 public:
  void SetUp() override {
    if (!std::ifstream(kPath).good()) GTEST_SKIP() << "test data absent: " << kPath;
    sequences_ = loadSequences(kPath);
    ASSERT_GE(sequences_.size(), 13u) << "12 sequences and the control expected in " << kPath;
  }

  // Sends one message with `sequence` after its body, then the smuggled transaction, QUIT.
  Driver& smuggle(const Sequence& sequence, bool reject) {
    auto options = defaultOptions();
    options.reject_bare_linefeed = reject;
    auto& d = inTransaction(options);
    d.send("DATA\r\n");
    EXPECT_EQ(d.take(), Replies{"354 End data with <CR><LF>.<CR><LF>"});
    d.send(kBody + sequence.bytes + kSmuggled + "QUIT\r\n");
    return d;
  }

  std::vector<Sequence> sequences_;
};

TEST_P(SmugglingTest, NoSequenceEndsTheMessageUnderNormalize) {
  for (const auto& sequence : sequences_) {
    if (sequence.name == "crlf.crlf") continue;
    SCOPED_TRACE(sequence.name);
    auto& d = smuggle(sequence, false);
    EXPECT_EQ(d.take(), (Replies{"250 2.0.0 Ok", "221 2.0.0 Bye"}));
    EXPECT_EQ(d.stageCount(Stage::Mail), 1u);
    ASSERT_EQ(d.deliveries().size(), 1u);
    const auto& message = d.deliveries()[0].message;
    EXPECT_NE(message.find("\r\nMAIL FROM:<smuggled@evil.example>\r\n"), std::string::npos);
    EXPECT_NE(message.find("\r\nsmuggled body\r\n"), std::string::npos);
    EXPECT_FALSE(hasBareNewline(message)) << message;
    EXPECT_TRUE(message.starts_with(kBody));
  }
}

TEST_P(SmugglingTest, SequencesWithBareNewlinesAreRefusedUnderReject) {
  for (const auto& sequence : sequences_) {
    if (sequence.name == "crlf.crlf") continue;
    SCOPED_TRACE(sequence.name);
    auto& d = smuggle(sequence, true);
    const bool bare = hasBareNewline(kBody + sequence.bytes + kSmuggled);
    const bool nul = sequence.bytes.find('\0') != std::string::npos;
    const std::string verdict = bare  ? "550 5.5.2 Error: bare <CR> or <LF> received"
                                : nul ? "550 5.6.0 Error: NUL octet received"
                                      : "250 2.0.0 Ok";
    EXPECT_EQ(d.take(), (Replies{verdict, "221 2.0.0 Bye"}));
    EXPECT_EQ(d.stageCount(Stage::Mail), 1u);
    EXPECT_EQ(d.deliveries().size(), bare || nul ? 0u : 1u);
  }
}

// The control proves the harness can see smuggling: the real terminator does end the message,
// so the "smuggled" MAIL runs as a command of its own.
TEST_P(SmugglingTest, ControlSequenceEndsTheMessage) {
  const auto control = std::find_if(sequences_.begin(), sequences_.end(),
                                    [](const Sequence& s) { return s.name == "crlf.crlf"; });
  ASSERT_NE(control, sequences_.end());
  ASSERT_EQ(control->bytes, "\r\n.\r\n");
  auto& d = smuggle(*control, true);
  EXPECT_EQ(d.stageCount(Stage::Mail), 2u);
  ASSERT_GE(d.deliveries().size(), 1u);
  EXPECT_EQ(d.deliveries()[0].message, kBody + "\r\n");
}

INSTANTIATE_TEST_SUITE_P(Feeds, SmugglingTest, ::testing::Values(Feed::Whole, Feed::Bytewise),
                         feedName);

}  // namespace
}  // namespace spamgate::smtp::test
