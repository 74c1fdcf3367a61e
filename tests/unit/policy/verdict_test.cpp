// decide(): the strongest explicit opinion wins, score thresholds apply only at end of data,
// the boundaries are inclusive, and the reason says why.
#include "policy/verdict.h"

#include <gtest/gtest.h>

#include <vector>

namespace spamgate::policy {
namespace {

using smtp::Stage;

Opinion opinion(Action action, int code, const char* enhanced, const char* reason) {
  return Opinion{action, smtp::makeReply(code, enhanced, "text " + std::string(reason)), reason};
}

std::vector<Symbol> scores(std::initializer_list<double> values) {
  std::vector<Symbol> out;
  for (double v : values)
    out.push_back(Symbol{"SYM_" + std::to_string(out.size()), v, ""});
  return out;
}

const Thresholds kThresholds{5.0, 15.0, std::nullopt};

TEST(ActionTest, OrderedByStrengthAndNamed) {
  EXPECT_LT(Action::Accept, Action::Tag);
  EXPECT_LT(Action::Tag, Action::Tempfail);
  EXPECT_LT(Action::Tempfail, Action::Reject);
  EXPECT_LT(Action::Reject, Action::Disconnect);
  EXPECT_EQ(actionName(Action::Accept), "accept");
  EXPECT_EQ(actionName(Action::Tag), "tag");
  EXPECT_EQ(actionName(Action::Tempfail), "tempfail");
  EXPECT_EQ(actionName(Action::Reject), "reject");
  EXPECT_EQ(actionName(Action::Disconnect), "disconnect");
}

TEST(TotalScoreTest, SumsIncludingNegatives) {
  EXPECT_EQ(totalScore({}), 0.0);
  EXPECT_EQ(totalScore(scores({1.5, 2.25, -0.75})), 3.0);
}

TEST(DecideTest, NothingMeansAcceptWithoutReply) {
  for (auto stage :
       {Stage::Connect, Stage::Helo, Stage::Mail, Stage::Rcpt, Stage::Data, Stage::EndOfData}) {
    const auto v = decide(stage, {}, {}, kThresholds);
    EXPECT_EQ(v.action, Action::Accept);
    EXPECT_FALSE(v.reply.has_value());
    EXPECT_EQ(v.reason, "");
  }
}

TEST(DecideTest, StrongestOpinionWinsWhateverItsPosition) {
  const std::vector<Opinion> opinions = {
      opinion(Action::Tempfail, 451, "4.7.1", "a: TEMP"),
      opinion(Action::Disconnect, 421, "4.7.0", "b: DISC"),
      opinion(Action::Reject, 550, "5.7.1", "c: REJ"),
  };
  const auto v = decide(Stage::Rcpt, {}, opinions, kThresholds);
  EXPECT_EQ(v.action, Action::Disconnect);
  ASSERT_TRUE(v.reply.has_value());
  EXPECT_EQ(v.reply->code, 421);
  EXPECT_EQ(v.reply->enhanced, "4.7.0");
  EXPECT_EQ(v.reply->text, "text b: DISC");
  EXPECT_EQ(v.reason, "b: DISC");

  const auto w = decide(Stage::Mail, {},
                        {opinion(Action::Reject, 550, "5.7.1", "x: REJ"),
                         opinion(Action::Tempfail, 451, "4.7.1", "y: TEMP")},
                        kThresholds);
  EXPECT_EQ(w.action, Action::Reject);
  EXPECT_EQ(w.reason, "x: REJ");
  EXPECT_EQ(w.reply->code, 550);
}

TEST(DecideTest, RefusingOpinionBeatsScoreAtEndOfData) {
  // A tempfail (a check that could not decide) is never turned into a pass by a low score,
  // and an explicit opinion is what the peer is told even when the score would reject.
  const auto low = decide(Stage::EndOfData, scores({0.5}),
                          {opinion(Action::Tempfail, 451, "4.4.3", "dns: TIMEOUT")}, kThresholds);
  EXPECT_EQ(low.action, Action::Tempfail);
  EXPECT_EQ(low.reason, "dns: TIMEOUT");
  const auto high = decide(Stage::EndOfData, scores({20}),
                           {opinion(Action::Reject, 554, "5.7.1", "rules: BAD")}, kThresholds);
  EXPECT_EQ(high.action, Action::Reject);
  EXPECT_EQ(high.reply->code, 554);
  EXPECT_EQ(high.reason, "rules: BAD");
}

TEST(DecideTest, ThresholdsApplyOnlyAtEndOfData) {
  for (auto stage : {Stage::Connect, Stage::Helo, Stage::Mail, Stage::Rcpt, Stage::Data}) {
    const auto v = decide(stage, scores({100}), {}, kThresholds);
    EXPECT_EQ(v.action, Action::Accept) << smtp::stageName(stage);
    EXPECT_FALSE(v.reply.has_value());
  }
  EXPECT_EQ(decide(Stage::EndOfData, scores({100}), {}, kThresholds).action, Action::Reject);
}

TEST(DecideTest, RejectBoundaryIsInclusive) {
  const auto at = decide(Stage::EndOfData, scores({10, 5}), {}, kThresholds);
  EXPECT_EQ(at.action, Action::Reject);
  ASSERT_TRUE(at.reply.has_value());
  EXPECT_EQ(at.reply->code, 550);
  EXPECT_EQ(at.reply->enhanced, "5.7.1");
  EXPECT_EQ(at.reply->text, "Message rejected as spam");
  EXPECT_EQ(at.reason, "score 15.00 >= reject_score 15.00");

  const auto below = decide(Stage::EndOfData, scores({10, 4.9375}), {}, kThresholds);
  EXPECT_EQ(below.action, Action::Tag);
}

TEST(DecideTest, TagBoundaryIsInclusiveAndHasNoReply) {
  const auto at = decide(Stage::EndOfData, scores({2.5, 2.5}), {}, kThresholds);
  EXPECT_EQ(at.action, Action::Tag);
  EXPECT_FALSE(at.reply.has_value());
  EXPECT_EQ(at.reason, "score 5.00 >= tag_score 5.00");

  const auto below = decide(Stage::EndOfData, scores({2.5, 2.4375}), {}, kThresholds);
  EXPECT_EQ(below.action, Action::Accept);
  EXPECT_FALSE(below.reply.has_value());
  EXPECT_EQ(below.reason, "");
}

TEST(DecideTest, NegativeScoresLowerTheTotal) {
  EXPECT_EQ(decide(Stage::EndOfData, scores({16, -2}), {}, kThresholds).action, Action::Tag);
  EXPECT_EQ(decide(Stage::EndOfData, scores({6, -2}), {}, kThresholds).action, Action::Accept);
}

TEST(DecideTest, ReasonCarriesTheTotalAndConfiguredThreshold) {
  const auto v =
      decide(Stage::EndOfData, scores({3.25, 4}), {}, Thresholds{7.0, 9.5, std::nullopt});
  EXPECT_EQ(v.action, Action::Tag);
  EXPECT_EQ(v.reason, "score 7.25 >= tag_score 7.00");
  const auto r = decide(Stage::EndOfData, scores({9.75}), {}, Thresholds{7.0, 9.5, std::nullopt});
  EXPECT_EQ(r.action, Action::Reject);
  EXPECT_EQ(r.reason, "score 9.75 >= reject_score 9.50");
}

TEST(DecideTest, TempfailScoreDefersBetweenTagAndReject) {
  const Thresholds t{5.0, 15.0, 10.0};
  const auto tag = decide(Stage::EndOfData, scores({9.5}), {}, t);
  EXPECT_EQ(tag.action, Action::Tag);
  const auto later = decide(Stage::EndOfData, scores({10}), {}, t);
  EXPECT_EQ(later.action, Action::Tempfail);
  ASSERT_TRUE(later.reply.has_value());
  EXPECT_EQ(later.reply->code, 451);
  EXPECT_EQ(later.reply->enhanced, "4.7.1");
  EXPECT_EQ(later.reason, "score 10.00 >= tempfail_score 10.00");
  EXPECT_EQ(decide(Stage::EndOfData, scores({15}), {}, t).action, Action::Reject);
  EXPECT_EQ(decide(Stage::Rcpt, scores({12}), {}, t).action, Action::Accept)
      << "scores decide at end of data only";
}

TEST(DecideTest, AcceptOpinionDoesNotStopTheScore) {
  const auto v = decide(Stage::EndOfData, scores({20}),
                        {opinion(Action::Accept, 250, "2.0.0", "allow: WL")}, kThresholds);
  EXPECT_EQ(v.action, Action::Reject);
}

TEST(DecideTest, TagOpinionTagsAtEndOfDataEvenWithLowScore) {
  const std::vector<Opinion> tag = {Opinion{Action::Tag, {}, "rules: SUSPICIOUS"}};
  const auto low = decide(Stage::EndOfData, scores({1}), tag, kThresholds);
  EXPECT_EQ(low.action, Action::Tag);
  EXPECT_FALSE(low.reply.has_value());
  EXPECT_EQ(low.reason, "rules: SUSPICIOUS");
  // The score may still say more than the opinion.
  const auto high = decide(Stage::EndOfData, scores({15}), tag, kThresholds);
  EXPECT_EQ(high.action, Action::Reject);
  // Before end of data there is no message to tag.
  EXPECT_EQ(decide(Stage::Rcpt, scores({1}), tag, kThresholds).action, Action::Accept);
}

}  // namespace
}  // namespace spamgate::policy
