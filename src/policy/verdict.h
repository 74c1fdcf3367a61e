// Evidence and decision. Checks record named, scored symbols; one policy step turns the evidence
// of a stage into a single action and the reply that goes with it (rspamd's symbols and
// actions). The peer sees the reply; the operator sees the reason.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.h"
#include "smtp/server_session.h"

namespace spamgate::policy {

// Ordered by strength: the strongest opinion of a stage wins.
enum class Action { Accept, Tag, Tempfail, Reject, Disconnect };
std::string_view actionName(Action action);

struct Symbol {
  std::string name;  // SCREAMING_SNAKE_CASE, e.g. CONN_LIMIT_IP
  double score = 0;
  std::string detail;  // for the operator: "21 connections from 192.0.2.1, limit 20"
};

// A check's explicit opinion: the action and the reply that carries it.
struct Opinion {
  Action action = Action::Accept;
  smtp::Reply reply;
  std::string reason;  // "connection_limits: CONN_LIMIT_IP"
  // A connect-stage refusal given at each RCPT instead, so the log holds the envelope
  // (reject_at = "rcpt"). Ignored at other stages.
  bool at_rcpt = false;
};

struct Verdict {
  Action action = Action::Accept;
  std::optional<smtp::Reply> reply;  // empty: let the protocol (or the relay) answer
  std::string reason;
};

struct Thresholds {
  double tag_score = 5.0;
  double reject_score = 15.0;
  std::optional<double> tempfail_score;  // 451 4.7.1 from this score on, below reject
};

double totalScore(const std::vector<Symbol>& symbols);

// One decision for a stage: the strongest explicit opinion, else at end of data the total
// score against the thresholds (reject 550 5.7.1, tag), else accept. A tag opinion counts at
// end of data only (there is no message to tag before); the score may still reject.
Verdict decide(smtp::Stage stage, const std::vector<Symbol>& symbols,
               const std::vector<Opinion>& opinions, const Thresholds& thresholds);

}  // namespace spamgate::policy
