// One decision-log line as `spamgate review` reads it: views into the parser's buffers, valid
// until the next line is parsed (RecordParser::parse). Keep one with toDecision().
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "log/decision_log.h"

namespace spamgate::review {

struct ReplyView {
  int64_t code = 0;
  std::string_view enhanced;
  std::string_view text;
};

struct RcptView {
  std::string_view address;
  ReplyView reply;
};

struct SymbolView {
  std::string_view name;
  double score = 0;
  std::string_view detail;
};

struct Record {
  int64_t time_ms = 0;
  std::string_view event;
  std::string_view id;
  std::string_view client_ip;
  int64_t client_port = 0;
  std::string_view helo;
  std::string_view tls;   // empty: plaintext (null in the log)
  bool has_mail = false;  // mail_from is null in connection events
  std::string_view mail_from;
  std::vector<RcptView> rcpts;
  uint64_t size = 0;
  std::string_view message_id;
  std::string_view action;
  std::string_view reason;
  ReplyView reply;
  double score = 0;
  std::vector<SymbolView> symbols;
  std::string_view backend_reply;
  std::string_view queue_id;
  bool quarantined = false;
  std::string_view release_of;
  int64_t duration_ms = 0;

  void clear();
  bool hasSymbol(std::string_view name) const;
};

log::Decision toDecision(const Record& record);

}  // namespace spamgate::review
