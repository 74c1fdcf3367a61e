#include "policy/verdict.h"

#include <cstdio>

namespace spamgate::policy {

std::string_view actionName(Action action) {
  switch (action) {
    case Action::Accept:
      return "accept";
    case Action::Tag:
      return "tag";
    case Action::Tempfail:
      return "tempfail";
    case Action::Reject:
      return "reject";
    case Action::Disconnect:
      return "disconnect";
  }
  return "unknown";
}

double totalScore(const std::vector<Symbol>& symbols) {
  double total = 0;
  for (const auto& s : symbols)
    total += s.score;
  return total;
}

namespace {

std::string formatScore(double score) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", score);
  return buffer;
}

}  // namespace

Verdict decide(smtp::Stage stage, const std::vector<Symbol>& symbols,
               const std::vector<Opinion>& opinions, const Thresholds& thresholds) {
  const Opinion* strongest = nullptr;
  for (const auto& opinion : opinions) {
    if (!strongest || opinion.action > strongest->action) strongest = &opinion;
  }
  if (strongest && strongest->action >= Action::Tempfail) {
    return Verdict{strongest->action, strongest->reply, strongest->reason};
  }
  if (stage != smtp::Stage::EndOfData) return Verdict{};
  const double score = totalScore(symbols);
  if (score >= thresholds.reject_score) {
    return Verdict{
        Action::Reject, smtp::makeReply(550, "5.7.1", "Message rejected as spam"),
        "score " + formatScore(score) + " >= reject_score " + formatScore(thresholds.reject_score)};
  }
  if (thresholds.tempfail_score && score >= *thresholds.tempfail_score) {
    return Verdict{Action::Tempfail,
                   smtp::makeReply(451, "4.7.1", "Message deferred, try again later"),
                   "score " + formatScore(score) + " >= tempfail_score " +
                       formatScore(*thresholds.tempfail_score)};
  }
  if (score >= thresholds.tag_score) {
    return Verdict{
        Action::Tag, std::nullopt,
        "score " + formatScore(score) + " >= tag_score " + formatScore(thresholds.tag_score)};
  }
  if (strongest && strongest->action == Action::Tag) {
    return Verdict{Action::Tag, std::nullopt, strongest->reason};
  }
  return Verdict{};
}

}  // namespace spamgate::policy
