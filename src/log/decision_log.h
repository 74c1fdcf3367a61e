// The decision log: one JSON object per line for every transaction, and for every connection
// that ended without one. Operators read it with `spamgate review`; the schema is in
// docs/decision-log.md. Writes are one write(2) per line on an O_APPEND descriptor, so lines
// from several worker threads never interleave; reopen() follows log rotation.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "policy/verdict.h"

namespace spamgate::log {

struct RecipientRecord {
  std::string address;
  smtp::Reply reply;
};

struct Decision {
  std::string event = "transaction";  // or "connection", "release"
  int64_t time_ms = 0;                // Unix time of the decision, milliseconds
  std::string id;
  std::string client_ip;
  uint16_t client_port = 0;
  std::string helo;
  std::string tls;  // "TLSv1.3 TLS_AES_256_GCM_SHA384", empty: plaintext
  bool has_mail = false;
  std::string mail_from;
  std::vector<RecipientRecord> rcpts;
  uint64_t size = 0;
  std::string message_id;
  std::string action = "none";  // accept, tag, tempfail, reject, disconnect, none
  std::string reason;           // why, for the operator
  smtp::Reply reply;            // what the client was told
  double score = 0;
  std::vector<policy::Symbol> symbols;
  std::string backend_reply;
  std::string queue_id;
  bool quarantined = false;  // the message is in the quarantine under `id`
  std::string release_of;    // event "release": the quarantined decision's id
  int64_t duration_ms = 0;
};

std::string toJson(const Decision& decision);

class DecisionLog {
 public:
  explicit DecisionLog(std::string path);  // "" disables; throws std::runtime_error on open
  ~DecisionLog();
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  void write(const Decision& decision);
  void reopen();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::mutex mutex_;
  int fd_ = -1;
};

// Operational messages on stderr: "2026-11-30T01:44:18Z spamgate: warning: text".
enum class Level { Info, Warning, Error };
void message(Level level, const std::string& text);

}  // namespace spamgate::log
