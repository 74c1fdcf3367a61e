// Before-queue relay: one client transaction maps to one backend transaction, and the client
// gets 250 for a message only after the backend said 250 (or the Maildir file is fsynced and
// renamed into new/). Two backends: SMTP (host:port) and a local Maildir.
//
// Contract:
// - Every callback runs on the loop that created the Relay, exactly once per call, and may run
//   inline (the Maildir backend answers mail() and rcpt() at once). Destroying a Transaction
//   cancels it: no callback runs afterwards, and an SMTP backend session is ended with RSET/QUIT
//   so that a message the checks rejected is never completed at the backend.
// - Outcome::reply is what the client should see; Outcome::detail is for the decision log (the
//   backend's real reply, or the error).
// - Reply mapping (SMTP backend): a backend 2xx becomes our own 250 with the right enhanced code;
//   a backend 4xx/5xx to MAIL, RCPT or the message passes through (so a 550 5.1.1 at RCPT reaches
//   the client); an unexpected reply becomes 451 4.3.0; a backend that cannot be reached or
//   refuses the session gives 421 4.4.1 (closes); a timeout or a dropped connection mid-
//   transaction gives 451 4.4.1.
//   Details of the above (SMTP backend): a backend 421 after the session was set up also gives
//   451 4.4.1 (the backend closing is not a reason to close the client); a reply the command
//   does not allow (3xx to MAIL, 2xx to DATA) or garbage gives 451 4.3.0; deliver() when no
//   recipient was accepted gives 554 5.5.1 at once. The SMTP backend never calls back inline.
// - A slow client never leaves a backend session to time out: if the backend connection is gone
//   by deliver(), the envelope is sent again on a fresh connection before DATA.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "smtp/reply.h"

struct event_base;

namespace spamgate::net {
class LoopInbox;
class WorkerPool;
}  // namespace spamgate::net

namespace spamgate::relay {

// Who the real client is, for XCLIENT / XFORWARD.
struct ClientInfo {
  std::string addr;  // numeric address, no brackets
  uint16_t port = 0;
  std::string helo;   // as the client sent it; empty if none
  std::string name;   // verified reverse name; empty: "[UNAVAILABLE]"
  bool esmtp = true;  // EHLO (true) or HELO (false)
};

struct Outcome {
  smtp::Reply reply;     // for the client
  std::string detail;    // for the log: the backend's reply ("250 2.0.0 Ok: queued as X") or error
  std::string queue_id;  // backend queue id when it told us, or the Maildir file name
};

using Callback = std::function<void(Outcome)>;

class Transaction {
 public:
  virtual ~Transaction() = default;
  // reverse_path without brackets ("" = null sender); params as the client gave them, minus
  // SIZE (the relay sends its own SIZE= when the backend offers SIZE). A SIZE=n left in params
  // is taken as the client's declared size and sent (as the relay's own SIZE=) in its place.
  virtual void mail(const std::string& reverse_path, const std::string& params, Callback done) = 0;
  virtual void rcpt(const std::string& forward_path, const std::string& params, Callback done) = 0;
  // message: the complete message, CRLF line endings, no dot-stuffing, no bare CR or LF;
  // the relay dot-stuffs it and ends it with CRLF.CRLF. Only recipients the backend accepted
  // are part of the transaction; at least one must have been accepted.
  virtual void deliver(std::string message, Callback done) = 0;
};

class Relay {
 public:
  virtual ~Relay() = default;
  virtual std::unique_ptr<Transaction> begin(const ClientInfo& client) = 0;
};

// The backend named by config.backend. `inbox` and `pool` belong to the calling worker and must
// outlive the Relay (the Maildir backend writes and fsyncs on the pool, off the loop).
std::unique_ptr<Relay> makeRelay(event_base* base, config::Snapshot config, net::LoopInbox& inbox,
                                 net::WorkerPool& pool);

}  // namespace spamgate::relay
