// The one interface every check implements, by SMTP stage (Haraka hooks, Postfix restriction
// classes). A check looks at the session's Context, records scored symbols and may give an
// explicit opinion (reject, tempfail, ...); "no opinion" is the empty result. Checks know
// nothing of sockets: what they need from the network comes through services they are given.
//
// Contract: start() calls `done` exactly once, possibly inline (then it returns nullptr), or
// later on the same event loop; destroying the returned handle cancels the check and `done`
// must not run afterwards. A check that cannot decide (DNS down, ...) says so with a symbol
// and, by default, a tempfail opinion: never a silent pass, never a permanent reject.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/results.h"
#include "policy/verdict.h"
#include "smtp/server_session.h"

struct event_base;

namespace spamgate::dns {
class Resolver;
}

namespace spamgate::store {
class StateStore;
class RateStore;
}  // namespace spamgate::store

namespace spamgate::pipeline {

using smtp::Stage;

// What checks learn about a session and share with later checks and stages. Checks run in
// configuration order, so a fact set by an inline check is visible to the checks after it.
struct SessionFacts {
  bool allowlisted = false;   // lists: the client skips the reputation checks
  bool pregreet = false;      // the client sent bytes before the greeting was complete
  std::string verified_name;  // the forward-confirmed reverse DNS name, "" if none
  auth::AuthFacts auth;       // SPF, DKIM, DMARC of the current transaction (reset at MAIL)
};

// Runs `work` off the event loop (it may block), then `done` on the loop; false when the
// queue is full (the caller answers with a tempfail rather than waiting). `done` runs even if
// the asking check was cancelled: it must hold a weak token to its owner.
using Offload = std::function<bool(std::function<void()> work, std::function<void()> done)>;

// What a check may see of the session. Valid only during Check::start(): a check that answers
// later copies what it needs. Pointers are null where the stage has no such thing.
struct Context {
  std::string client_ip;
  uint16_t client_port = 0;
  std::string hostname;  // ours ([server] hostname)
  std::string helo;      // the accepted HELO; at the Helo stage, the one under decision
  bool tls = false;
  const smtp::MailArgs* mail = nullptr;  // MAIL stage and later
  const smtp::RcptArgs* rcpt = nullptr;  // RCPT stage: the recipient under decision
  const smtp::Transaction* transaction = nullptr;
  const std::string* message = nullptr;  // EndOfData
  // The session's facts and the worker loop's resolver: unlike the rest, both outlive every
  // pending check of the session, so an asynchronous check may keep these two pointers.
  SessionFacts* facts = nullptr;
  dns::Resolver* resolver = nullptr;
  // The worker's event loop, for checks that wait (pregreet's timer). Like `facts`, it
  // outlives every pending check of the session; a check's timers live on this loop only.
  event_base* loop = nullptr;
  Offload offload;  // outlives every pending check, as `loop`
  // The worker loop's state store (greylist, reputation) and token buckets (rate limits),
  // null when there is none; they outlive every pending check, as `loop`.
  store::StateStore* state = nullptr;
  store::RateStore* rates = nullptr;
  // The total score of the symbols recorded before this check started (greylisting's band).
  double prior_score = 0;
  // Names of the symbols recorded before this check started: by earlier stages, and by the
  // checks of lower orders in this stage (content rules combine them in metas).
  std::vector<std::string> prior_symbols;
};

struct CheckResult {
  std::vector<policy::Symbol> symbols;
  std::optional<policy::Opinion> opinion;  // empty: no opinion
};

class PendingCheck {
 public:
  virtual ~PendingCheck() = default;
};

using CheckDone = std::function<void(CheckResult)>;

class Check {
 public:
  virtual ~Check() = default;
  virtual std::string_view name() const = 0;
  virtual bool runsAt(Stage stage) const = 0;
  // Checks of a stage start by order: those of a higher order once every check of the lower
  // orders has answered, so they see the facts those recorded (DMARC after DKIM).
  virtual int order() const { return 0; }
  virtual std::unique_ptr<PendingCheck> start(Stage stage, const Context& context,
                                              CheckDone done) = 0;
};

using Checks = std::vector<std::shared_ptr<Check>>;

}  // namespace spamgate::pipeline
