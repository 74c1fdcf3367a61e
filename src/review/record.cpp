#include "review/record.h"

#include <string>

namespace spamgate::review {

namespace {

smtp::Reply ownReply(const ReplyView& r) {
  smtp::Reply reply;
  reply.code = static_cast<int>(r.code);
  reply.enhanced = std::string(r.enhanced);
  reply.text = std::string(r.text);
  return reply;
}

}  // namespace

void Record::clear() {
  // Keep the vectors' capacity: no allocation per line once the longest one was seen.
  auto keep_rcpts = std::move(rcpts);
  auto keep_symbols = std::move(symbols);
  *this = Record{};
  rcpts = std::move(keep_rcpts);
  symbols = std::move(keep_symbols);
  rcpts.clear();
  symbols.clear();
}

bool Record::hasSymbol(std::string_view name) const {
  for (const auto& s : symbols) {
    if (s.name == name) return true;
  }
  return false;
}

log::Decision toDecision(const Record& r) {
  log::Decision d;
  d.event = r.event;
  d.time_ms = r.time_ms;
  d.id = r.id;
  d.client_ip = r.client_ip;
  d.client_port = static_cast<uint16_t>(r.client_port);
  d.helo = r.helo;
  d.tls = r.tls;
  d.has_mail = r.has_mail;
  d.mail_from = r.mail_from;
  for (const auto& rcpt : r.rcpts)
    d.rcpts.push_back({std::string(rcpt.address), ownReply(rcpt.reply)});
  d.size = r.size;
  d.message_id = r.message_id;
  d.action = r.action;
  d.reason = r.reason;
  d.reply = ownReply(r.reply);
  d.score = r.score;
  for (const auto& s : r.symbols)
    d.symbols.push_back({std::string(s.name), s.score, std::string(s.detail)});
  d.backend_reply = r.backend_reply;
  d.queue_id = r.queue_id;
  d.quarantined = r.quarantined;
  d.release_of = r.release_of;
  d.duration_ms = r.duration_ms;
  return d;
}

}  // namespace spamgate::review
