// toJson(Decision) and DecisionLog: every line is valid JSON that parses back to what was
// logged; concurrent writers never interleave; reopen() follows a rotated file.
#include "log/decision_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "json_parse.h"

namespace spamgate::log {
namespace {

using spamgate::testing::JsonParser;
using spamgate::testing::JsonValue;
namespace fs = std::filesystem;

const std::string kReplacement = "\xef\xbf\xbd";

Decision sample() {
  Decision d;
  d.time_ms = 1764467058123;
  d.id = "0123456789ABCDEF";
  d.client_ip = "192.0.2.1";
  d.client_port = 65535;
  d.helo = "mail.example.org";
  d.tls = "TLSv1.3 TLS_AES_256_GCM_SHA384";
  d.has_mail = true;
  d.mail_from = "sender@example.org";
  d.rcpts = {{"a@example.net", smtp::makeReply(250, "2.1.5", "Ok")},
             {"b@example.net", smtp::makeReply(550, "5.1.1", "No such user")}};
  d.size = 12345678901ull;
  d.message_id = "<abc@example.org>";
  d.action = "tag";
  d.reason = "score 6.50 >= tag_score 5.00";
  d.reply = smtp::makeReply(250, "2.0.0", "Ok: queued as 0123456789ABCDEF");
  d.score = 6.5;
  d.symbols = {{"DNSBL_LISTED", 4.0, "zen: 127.0.0.2"}, {"HELO_BARE_IP", 2.5, ""}};
  d.backend_reply = "250 2.0.0 Ok: queued as 4XyZ";
  d.queue_id = "4XyZ";
  d.duration_ms = 1234;
  return d;
}

JsonValue parsed(const std::string& line) {
  std::string error;
  auto value = JsonParser::parse(line, &error);
  EXPECT_TRUE(value) << error << " in " << line;
  return value ? *value : JsonValue{};
}

void expectReply(const JsonValue& v, int code, const std::string& enhanced,
                 const std::string& text) {
  EXPECT_EQ(v.at("code").number, code);
  EXPECT_EQ(v.at("enhanced").text, enhanced);
  EXPECT_EQ(v.at("text").text, text);
}

TEST(ToJsonTest, EveryFieldParsesBack) {
  const auto line = toJson(sample());
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto v = parsed(line);
  ASSERT_EQ(v.type, JsonValue::Type::Object);
  EXPECT_EQ(v.at("time").text, "2025-11-30T01:44:18.123Z");
  EXPECT_EQ(v.at("event").text, "transaction");
  EXPECT_EQ(v.at("id").text, "0123456789ABCDEF");
  EXPECT_EQ(v.at("client").at("ip").text, "192.0.2.1");
  EXPECT_EQ(v.at("client").at("port").number, 65535);
  EXPECT_EQ(v.at("helo").text, "mail.example.org");
  EXPECT_EQ(v.at("tls").text, "TLSv1.3 TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(v.at("mail_from").text, "sender@example.org");
  const auto& rcpts = v.at("rcpts").items;
  ASSERT_EQ(rcpts.size(), 2u);
  EXPECT_EQ(rcpts[0].at("address").text, "a@example.net");
  expectReply(rcpts[0].at("reply"), 250, "2.1.5", "Ok");
  EXPECT_EQ(rcpts[1].at("address").text, "b@example.net");
  expectReply(rcpts[1].at("reply"), 550, "5.1.1", "No such user");
  EXPECT_EQ(v.at("size").text, "12345678901");
  EXPECT_EQ(v.at("message_id").text, "<abc@example.org>");
  EXPECT_EQ(v.at("action").text, "tag");
  EXPECT_EQ(v.at("reason").text, "score 6.50 >= tag_score 5.00");
  expectReply(v.at("reply"), 250, "2.0.0", "Ok: queued as 0123456789ABCDEF");
  EXPECT_EQ(v.at("score").number, 6.5);
  const auto& symbols = v.at("symbols").items;
  ASSERT_EQ(symbols.size(), 2u);
  EXPECT_EQ(symbols[0].at("name").text, "DNSBL_LISTED");
  EXPECT_EQ(symbols[0].at("score").number, 4.0);
  EXPECT_EQ(symbols[0].at("detail").text, "zen: 127.0.0.2");
  EXPECT_EQ(symbols[1].at("name").text, "HELO_BARE_IP");
  EXPECT_EQ(symbols[1].at("score").number, 2.5);
  EXPECT_EQ(v.at("backend").at("reply").text, "250 2.0.0 Ok: queued as 4XyZ");
  EXPECT_EQ(v.at("backend").at("queue_id").text, "4XyZ");
  EXPECT_EQ(v.at("duration_ms").number, 1234);
}

TEST(ToJsonTest, PlaintextConnectionWithoutMailHasNulls) {
  Decision d;
  d.event = "connection";
  const auto v = parsed(toJson(d));
  EXPECT_EQ(v.at("event").text, "connection");
  EXPECT_EQ(v.at("time").text, "1970-01-01T00:00:00.000Z");
  EXPECT_TRUE(v.at("tls").isNull());
  EXPECT_TRUE(v.at("mail_from").isNull());
  EXPECT_TRUE(v.at("rcpts").items.empty());
  EXPECT_EQ(v.at("rcpts").type, JsonValue::Type::Array);
  EXPECT_TRUE(v.at("symbols").items.empty());
  EXPECT_EQ(v.at("action").text, "none");
  // A null sender (MAIL FROM:<>) is not the same as no MAIL at all.
  d.has_mail = true;
  const auto w = parsed(toJson(d));
  EXPECT_EQ(w.at("mail_from").type, JsonValue::Type::String);
  EXPECT_EQ(w.at("mail_from").text, "");
}

TEST(ToJsonTest, MillisecondsArePadded) {
  Decision d;
  d.time_ms = 951868799005;
  EXPECT_EQ(parsed(toJson(d)).at("time").text, "2000-02-29T23:59:59.005Z");
}

TEST(ToJsonTest, HostileClientStringsStayValidJson) {
  const std::string evil =
      std::string("\"}\\\r\n\t\0\x1b\x7f", 10) + "\xff\xfe\xc0\xaf\xed\xa0\x80" + "caf\xc3\xa9";
  const std::string clean = std::string("\"}\\\r\n\t\0\x1b\x7f", 10) + kReplacement + kReplacement +
                            kReplacement + kReplacement + kReplacement + kReplacement +
                            kReplacement + "caf\xc3\xa9";
  auto d = sample();
  d.helo = d.mail_from = d.message_id = d.reason = d.backend_reply = evil;
  d.rcpts[0].address = evil;
  d.rcpts[0].reply.text = evil;
  d.symbols[0].detail = evil;
  const auto line = toJson(d);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  const auto v = parsed(line);
  EXPECT_EQ(v.at("helo").text, clean);
  EXPECT_EQ(v.at("mail_from").text, clean);
  EXPECT_EQ(v.at("message_id").text, clean);
  EXPECT_EQ(v.at("reason").text, clean);
  EXPECT_EQ(v.at("backend").at("reply").text, clean);
  EXPECT_EQ(v.at("rcpts").items.at(0).at("address").text, clean);
  EXPECT_EQ(v.at("rcpts").items.at(0).at("reply").at("text").text, clean);
  EXPECT_EQ(v.at("symbols").items.at(0).at("detail").text, clean);
  EXPECT_EQ(v.at("id").text, "0123456789ABCDEF");
}

TEST(ToJsonTest, PythonJsonAgrees) {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0) GTEST_SKIP() << "no python3";
  auto d = sample();
  d.helo = std::string("a\"b\\c\0d\x01\xff\xf4\x90\x80\x80\xf0\x9f\x98\x80", 17);
  d.score = std::nan("");
  char dir_template[] = "/tmp/spamgate-json-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const fs::path dir = dir_template;
  const auto file = dir / "line.json";
  std::ofstream(file, std::ios::binary) << toJson(d);
  // Strict UTF-8 decoding, no NaN/Infinity, no control characters in strings.
  const std::string script =
      "import json,sys\n"
      "def bad(c): raise ValueError(c)\n"
      "v=json.loads(open(sys.argv[1],encoding='utf-8',errors='strict').read(),"
      "parse_constant=bad)\n"
      "assert v['helo']=='a\"b\\\\c\\x00d\\x01\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\U0001F600', "
      "repr(v['helo'])\n"
      "assert v['score'] is None\n"
      "assert v['rcpts'][1]['reply']['code']==550\n";
  std::ofstream(dir / "check.py") << script;
  const std::string command =
      "python3 " + (dir / "check.py").string() + " " + file.string() + " 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0);
  fs::remove_all(dir);
}

class DecisionLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/spamgate-dlog-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::vector<std::string> lines(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
      const auto eol = text.find('\n', pos);
      EXPECT_NE(eol, std::string::npos) << "last line not terminated";
      if (eol == std::string::npos) break;
      out.push_back(text.substr(pos, eol - pos));
      pos = eol + 1;
    }
    return out;
  }

  static Decision withId(const std::string& id) {
    Decision d;
    d.id = id;
    return d;
  }

  fs::path dir_;
};

TEST_F(DecisionLogTest, OneLinePerWriteAppendedToExistingFile) {
  const auto path = dir_ / "decisions.log";
  std::ofstream(path) << "{\"old\":true}\n";
  {
    DecisionLog log(path.string());
    EXPECT_EQ(log.path(), path.string());
    log.write(sample());
    log.write(withId("second"));
  }
  const auto got = lines(path);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "{\"old\":true}");
  EXPECT_EQ(got[1], toJson(sample()));
  EXPECT_EQ(parsed(got[2]).at("id").text, "second");
}

TEST_F(DecisionLogTest, CreatesMissingDirectories) {
  const auto path = dir_ / "a" / "b" / "decisions.log";
  DecisionLog log(path.string());
  log.write(withId("x"));
  ASSERT_EQ(lines(path).size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0007u, 0u) << "the log must not be world-readable";
}

TEST_F(DecisionLogTest, EmptyPathDisablesLogging) {
  DecisionLog log("");
  log.write(sample());
  log.reopen();
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(DecisionLogTest, UnopenablePathThrows) {
  const auto file = dir_ / "not-a-dir";
  std::ofstream(file) << "x";
  EXPECT_THROW(DecisionLog((file / "decisions.log").string()), std::runtime_error);
}

TEST_F(DecisionLogTest, ConcurrentWritersNeverInterleave) {
  constexpr int kThreads = 4;
  constexpr int kLines = 500;
  const auto path = dir_ / "decisions.log";
  {
    DecisionLog log(path.string());
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < kLines; ++i) {
          auto d = withId(std::to_string(t) + "-" + std::to_string(i));
          // Lines of varying length, some larger than a pipe buffer.
          d.reason = std::string(static_cast<std::size_t>((i * 37 + t * 101) % 6000),
                                 static_cast<char>('a' + t));
          log.write(d);
        }
      });
    }
    for (auto& thread : threads)
      thread.join();
  }
  const auto got = lines(path);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kThreads * kLines));
  std::set<std::string> ids;
  for (const auto& line : got) {
    const auto v = parsed(line);
    if (!v.has("id")) return;  // parsed() has already failed the test
    const auto& id = v.at("id").text;
    ids.insert(id);
    const char expected = static_cast<char>('a' + (id[0] - '0'));
    EXPECT_EQ(v.at("reason").text.find_first_not_of(expected), std::string::npos) << id;
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kThreads * kLines));
}

TEST_F(DecisionLogTest, ReopenAfterRenameContinuesInANewFile) {
  const auto path = dir_ / "decisions.log";
  const auto rotated = dir_ / "decisions.log.1";
  DecisionLog log(path.string());
  log.write(withId("before"));
  fs::rename(path, rotated);
  log.write(withId("after-rename"));  // still the old descriptor: the rotated file
  EXPECT_FALSE(fs::exists(path));
  log.reopen();
  log.write(withId("after-reopen"));

  const auto old_lines = lines(rotated);
  ASSERT_EQ(old_lines.size(), 2u);
  EXPECT_EQ(parsed(old_lines[0]).at("id").text, "before");
  EXPECT_EQ(parsed(old_lines[1]).at("id").text, "after-rename");
  const auto new_lines = lines(path);
  ASSERT_EQ(new_lines.size(), 1u);
  EXPECT_EQ(parsed(new_lines[0]).at("id").text, "after-reopen");
}

TEST_F(DecisionLogTest, ReopenWhileWritersRunLosesNothing) {
  const auto path = dir_ / "decisions.log";
  constexpr int kLines = 400;
  DecisionLog log(path.string());
  std::thread writer([&log] {
    for (int i = 0; i < kLines; ++i)
      log.write(withId(std::to_string(i)));
  });
  for (int r = 0; r < 20; ++r) {
    fs::rename(path, dir_ / ("decisions.log." + std::to_string(r)));
    log.reopen();
  }
  writer.join();
  std::set<std::string> ids;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    for (const auto& line : lines(entry.path()))
      ids.insert(parsed(line).at("id").text);
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kLines));
}

}  // namespace
}  // namespace spamgate::log
