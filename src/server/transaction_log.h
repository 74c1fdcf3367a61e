// What the session remembers of the transaction in progress, for its decision log line.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "log/decision_log.h"
#include "server/session.h"

namespace spamgate::server {

struct Session::TransactionLog {
  std::string id;
  Clock::time_point started = Clock::now();
  bool has_mail = false;
  std::string mail_from;
  std::vector<log::RecipientRecord> rcpts;
  std::vector<policy::Symbol> symbols;
  std::string action = "none";
  std::string reason;
  std::optional<smtp::Reply> refusal;  // the checks' refusal at MAIL/RCPT/DATA, if any
  uint64_t size = 0;
  std::string message_id;
  std::string backend_reply;
  std::string queue_id;
  bool quarantine_tried = false;  // kept (or tried to keep) before the decision
  bool quarantined = false;
};

}  // namespace spamgate::server
