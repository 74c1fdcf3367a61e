// The quarantine's files: round trip of envelope and message, durable layout, release
// bookkeeping (claimed once, interrupted releases reported), pruning by age and by size.
#include "quarantine/quarantine.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace spamgate::quarantine {
namespace {

namespace fs = std::filesystem;

class QuarantineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "quarantine-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    dir_ = root_ + "/q";
  }
  void TearDown() override { fs::remove_all(root_); }

  static Envelope envelope(const std::string& id) {
    Envelope e;
    e.id = id;
    e.time_ms = 1764467915277;
    e.client_ip = "192.0.2.7";
    e.helo = "mail.example.org";
    e.protocol = "ESMTPS";
    e.tls = "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)";
    e.mail_from = "alice@example.org";
    e.rcpts = {"bob@example.com", "carol@example.com"};
    e.action = "reject";
    e.score = 16.25;
    e.reason = "score 16.2 >= reject_score 15.0";
    return e;
  }

  void age(const std::string& id, std::chrono::hours by) const {
    const auto when = std::chrono::system_clock::now() - by;
    const timespec times[2] = {{std::chrono::system_clock::to_time_t(when), 0},
                               {std::chrono::system_clock::to_time_t(when), 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, Quarantine(dir_).pathOf(id).c_str(), times, 0), 0);
  }

  std::string root_;
  std::string dir_;
};

constexpr char kId[] = "01M8N2SSGC9Y9RDP";
constexpr char kMessage[] = "Subject: hi\r\n\r\nbody line\r\n.leading dot\r\n";

TEST_F(QuarantineTest, KeepsEnvelopeAndMessageExactly) {
  Quarantine q(dir_);
  std::string error;
  ASSERT_TRUE(q.keep(envelope(kId), kMessage, error)) << error;
  EXPECT_EQ(q.pathOf(kId), dir_ + "/" + kId + ".msg");
  EXPECT_TRUE(fs::is_empty(dir_ + "/tmp")) << "the temp file was renamed into place";
  const auto entry = q.read(kId, error);
  ASSERT_TRUE(entry.has_value()) << error;
  EXPECT_EQ(entry->message, kMessage);
  const Envelope& e = entry->envelope;
  EXPECT_EQ(e.id, kId);
  EXPECT_EQ(e.time_ms, 1764467915277);
  EXPECT_EQ(e.client_ip, "192.0.2.7");
  EXPECT_EQ(e.helo, "mail.example.org");
  EXPECT_EQ(e.protocol, "ESMTPS");
  EXPECT_EQ(e.tls, envelope(kId).tls);
  EXPECT_EQ(e.mail_from, "alice@example.org");
  EXPECT_EQ(e.rcpts, (std::vector<std::string>{"bob@example.com", "carol@example.com"}));
  EXPECT_EQ(e.action, "reject");
  EXPECT_DOUBLE_EQ(e.score, 16.25);
  EXPECT_EQ(e.reason, "score 16.2 >= reject_score 15.0");
}

TEST_F(QuarantineTest, TheFileIsReadableByAPerson) {
  Quarantine q(dir_);
  std::string error;
  ASSERT_TRUE(q.keep(envelope(kId), kMessage, error)) << error;
  std::ifstream in(q.pathOf(kId));
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, std::string("id: ") + kId);
  EXPECT_EQ(fs::status(q.pathOf(kId)).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(QuarantineTest, NullSenderAndEmptyMessageRoundTrip) {
  Quarantine q(dir_);
  auto e = envelope(kId);
  e.mail_from = "";
  e.tls = "";
  std::string error;
  ASSERT_TRUE(q.keep(e, "", error)) << error;
  const auto entry = q.read(kId, error);
  ASSERT_TRUE(entry.has_value()) << error;
  EXPECT_EQ(entry->envelope.mail_from, "");
  EXPECT_EQ(entry->message, "");
}

TEST_F(QuarantineTest, IdsThatCouldNameOtherFilesAreRefused) {
  Quarantine q(dir_);
  std::string error;
  EXPECT_FALSE(q.keep(envelope("../../etc/passwd"), kMessage, error));
  EXPECT_NE(error.find("not a decision id"), std::string::npos);
  EXPECT_FALSE(q.read("../x", error).has_value());
  EXPECT_FALSE(validId("01m8n2ssgc9y9rdp")) << "lower case is not what we issue";
  EXPECT_FALSE(validId("01M8N2SSGC9Y9RD"));
  EXPECT_TRUE(validId(kId));
}

TEST_F(QuarantineTest, MissingAndForeignFilesAreErrors) {
  Quarantine q(dir_);
  std::string error;
  EXPECT_FALSE(q.read(kId, error).has_value());
  EXPECT_NE(error.find(kId), std::string::npos) << error;
  fs::create_directories(dir_);
  std::ofstream(q.pathOf(kId)) << "From: someone\r\n\r\nnot ours\r\n";
  EXPECT_FALSE(q.read(kId, error).has_value());
  EXPECT_NE(error.find("not a quarantined message"), std::string::npos) << error;
}

TEST(QuarantineParse, RefusesTextWithoutAnEnvelope) {
  EXPECT_FALSE(parseEntry("").has_value());
  EXPECT_FALSE(parseEntry("id: 01M8N2SSGC9Y9RDP\n").has_value()) << "no blank line";
  EXPECT_FALSE(parseEntry("id 01M8N2SSGC9Y9RDP\n\n").has_value());
  EXPECT_FALSE(parseEntry("id: short\n\n").has_value());
  EXPECT_FALSE(parseEntry("id: 01M8N2SSGC9Y9RDP\ntime: soon\n\n").has_value());
  const auto entry = parseEntry("id: 01M8N2SSGC9Y9RDP\nunknown: x\n\nmsg");
  ASSERT_TRUE(entry.has_value()) << "unknown keys are ignored (newer versions)";
  EXPECT_EQ(entry->message, "msg");
}

TEST_F(QuarantineTest, AReleaseIsClaimedOnceAndRemembered) {
  Quarantine q(dir_);
  std::string error;
  ASSERT_TRUE(q.keep(envelope(kId), kMessage, error)) << error;
  EXPECT_EQ(q.claimRelease(kId).state, ReleaseState::Claimed);
  const Claim second = q.claimRelease(kId);
  EXPECT_EQ(second.state, ReleaseState::Interrupted) << "claimed, neither completed nor abandoned";
  ASSERT_TRUE(q.completeRelease(kId, "released 2026-11-30T08:00:00Z: 250 2.0.0 Ok", error))
      << error;
  const Claim third = q.claimRelease(kId);
  EXPECT_EQ(third.state, ReleaseState::AlreadyReleased);
  EXPECT_EQ(third.detail, "released 2026-11-30T08:00:00Z: 250 2.0.0 Ok");
}

TEST_F(QuarantineTest, AnAbandonedReleaseCanBeTriedAgain) {
  Quarantine q(dir_);
  std::string error;
  ASSERT_TRUE(q.keep(envelope(kId), kMessage, error)) << error;
  ASSERT_EQ(q.claimRelease(kId).state, ReleaseState::Claimed);
  q.abandonRelease(kId);
  EXPECT_EQ(q.claimRelease(kId).state, ReleaseState::Claimed);
}

TEST_F(QuarantineTest, PrunesByAgeWithTheReleaseMarker) {
  Quarantine q(dir_);
  std::string error;
  ASSERT_TRUE(q.keep(envelope("0000000000000OLD"), kMessage, error)) << error;
  ASSERT_TRUE(q.keep(envelope("0000000000000NEW"), kMessage, error)) << error;
  ASSERT_EQ(q.claimRelease("0000000000000OLD").state, ReleaseState::Claimed);
  age("0000000000000OLD", std::chrono::hours(24 * 31));
  const PruneResult r =
      q.prune(std::chrono::system_clock::now(), std::chrono::hours(24 * 30), 1 << 30);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(fs::exists(q.pathOf("0000000000000OLD")));
  EXPECT_FALSE(fs::exists(dir_ + "/0000000000000OLD.released"));
  EXPECT_TRUE(fs::exists(q.pathOf("0000000000000NEW")));
  EXPECT_EQ(r.bytes_kept, fs::file_size(q.pathOf("0000000000000NEW")));
}

TEST_F(QuarantineTest, PrunesTheOldestFirstOverTheSizeCap) {
  Quarantine q(dir_);
  std::string error;
  const std::string ids[] = {"000000000000000A", "000000000000000B", "000000000000000C"};
  for (const auto& id : ids)
    ASSERT_TRUE(q.keep(envelope(id), std::string(1000, 'x'), error)) << error;
  age(ids[0], std::chrono::hours(3));
  age(ids[1], std::chrono::hours(2));
  age(ids[2], std::chrono::hours(1));
  const uint64_t each = fs::file_size(q.pathOf(ids[0]));
  const PruneResult r = q.prune(std::chrono::system_clock::now(), std::chrono::hours(24), 2 * each);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_FALSE(fs::exists(q.pathOf(ids[0])));
  EXPECT_TRUE(fs::exists(q.pathOf(ids[1])));
  EXPECT_EQ(r.bytes_kept, 2 * each);
}

TEST_F(QuarantineTest, PruningAnAbsentDirectoryIsNotAnError) {
  const PruneResult r =
      Quarantine(dir_).prune(std::chrono::system_clock::now(), std::chrono::hours(1), 0);
  EXPECT_EQ(r.removed, 0u);
  EXPECT_EQ(r.error, "");
}

}  // namespace
}  // namespace spamgate::quarantine
