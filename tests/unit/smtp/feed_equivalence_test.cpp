// One long session, replayed whole, one byte at a time and in random splits: the transcript,
// the stages run and the messages delivered must be identical.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "driver.h"

namespace spamgate::smtp::test {
namespace {

// Each entry is one client write; DATA content waits for the 354 as a real client does.
const std::vector<std::string> kScript = {
    "EHLO client.example\r\n",
    "MAIL FROM:<a@example.org> SIZE=300 BODY=8BITMIME\r\nRCPT TO:<b@example.com>\r\n"
    "RCPT TO:<bad@example.com>\r\nRCPT TO:<postmaster>\r\nDATA\r\n",
    "Subject: one\r\n\r\n..stuffed\r\nbare\nlf\rcr\r\n" + std::string(998, 'L') + "\r\n.\r\n",
    "MAIL FROM:<>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n",
    "Subject: two\r\n\r\n.\r\n",
    "FOO\r\nRSET x\r\n" + std::string(600, 'x') + "\r\nNOOP\nVRFY someone\r\nHELP\r\n",
    "MAIL FROM:<d@example.org>\r\nRCPT TO:<e@example.com>\r\nBDAT 9\r\nline\r\n.\r\n"
    "BDAT 3 LAST\r\nend",
    "MAIL FROM:<f@example.org>\r\nRCPT TO:<g@example.com>\r\nRSET\r\nQUIT\r\nNOOP\r\n",
};

struct Outcome {
  std::string transcript;
  std::vector<Stage> stages;
  std::vector<std::string> messages;
};

Outcome play(std::size_t max_piece, unsigned seed) {
  Driver d;
  d.onStage(Stage::Rcpt, [](const ServerSession& s) {
    const bool bad = s.pendingRcpt()->forward_path == "bad@example.com";
    return bad ? StageResult{makeReply(550, "5.1.1", "User unknown")} : StageResult{};
  });
  d.start();
  std::mt19937 random(seed);
  for (const auto& write : kScript) {
    for (std::size_t i = 0; i < write.size();) {
      const auto n = max_piece == 0 ? write.size() : 1 + random() % max_piece;
      d.send(std::string_view(write).substr(i, n));
      i += n;
    }
  }
  Outcome out{d.transcript(), d.stages(), {}};
  for (const auto& delivery : d.deliveries())
    out.messages.push_back(delivery.message);
  return out;
}

TEST(FeedEquivalenceTest, WholeBytewiseAndRandomSplitsAgree) {
  const auto whole = play(0, 0);
  ASSERT_EQ(whole.messages.size(), 3u) << whole.transcript;
  EXPECT_EQ(whole.messages[0], "Subject: one\r\n\r\n.stuffed\r\nbare\r\nlf\r\ncr\r\n" +
                                   std::string(998, 'L') + "\r\n");
  EXPECT_EQ(whole.messages[1], "Subject: two\r\n\r\n");
  EXPECT_EQ(whole.messages[2], "line\r\n.\r\nend\r\n");
  EXPECT_TRUE(whole.transcript.ends_with("221 2.0.0 Bye\r\n"));
  const auto bytewise = play(1, 0);
  EXPECT_EQ(bytewise.transcript, whole.transcript);
  EXPECT_EQ(bytewise.stages, whole.stages);
  EXPECT_EQ(bytewise.messages, whole.messages);
  for (unsigned seed = 1; seed <= 20; ++seed) {
    const auto split = play(1 + seed % 13, seed);
    EXPECT_EQ(split.transcript, whole.transcript) << "seed " << seed;
    EXPECT_EQ(split.stages, whole.stages) << "seed " << seed;
    EXPECT_EQ(split.messages, whole.messages) << "seed " << seed;
  }
}

}  // namespace
}  // namespace spamgate::smtp::test
