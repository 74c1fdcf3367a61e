// Pregreet (Postfix postscreen_greet_action): a client that talks before the greeting is
// complete is a bot that does not wait for the server. Runs at Connect.
//
// The session notices the bytes (it sets SessionFacts::pregreet when data arrives before or
// during the greeting) and, with `wait` > 0, sends the first "220-" line of a multi-line banner
// before running the Connect stage. This check only reads the fact:
//   wait == 0: inline, from the facts as they are when start() runs; returns nullptr.
//   wait > 0:  after `wait`, by a timer on Context::loop (the worker's loop, which must be set),
//              from the facts as they are then; the other Connect checks run meanwhile.
// The greeting itself goes out only when every Connect check is done (DNS ones included): the
// session judges the facts again then (judgePregreet), so a client that spoke after this check
// completed but before the greeting is flagged as well.
// Result: PREGREET (config score, detail "client spoke before the greeting") and, with
// `enforce`, a Reject opinion 554 5.5.1 given at once (at_rcpt = false; RFC 5321 3.1 allows a
// 554 in place of the greeting). A client that kept quiet gets nothing. Allow-listed clients
// (SessionFacts::allowlisted) are exempt: when that is known at start() they do not wait.
//
// Lifetime: the Context is valid only during start(), but SessionFacts is owned by the session
// and outlives every handle of its checks, so the pending check keeps Context::facts.
// Destroying the handle frees the timer; `done` never runs afterwards. A null `facts` reads as
// a quiet, not allow-listed client.
#pragma once

#include "config/config.h"
#include "pipeline/check.h"

namespace spamgate::checks {

class Pregreet final : public pipeline::Check {
 public:
  explicit Pregreet(config::Pregreet settings) : settings_(settings) {}

  std::string_view name() const override { return "pregreet"; }
  bool runsAt(pipeline::Stage stage) const override {
    return settings_.enabled && stage == pipeline::Stage::Connect;
  }
  // Aborts when `wait` > 0 and Context::loop is null: the session must provide its loop.
  std::unique_ptr<pipeline::PendingCheck> start(pipeline::Stage stage,
                                                const pipeline::Context& context,
                                                pipeline::CheckDone done) override;

 private:
  config::Pregreet settings_;
};

// The verdict on what the facts say, as given when the check completes (exposed for tests).
pipeline::CheckResult judgePregreet(const config::Pregreet& settings,
                                    const pipeline::SessionFacts* facts);

}  // namespace spamgate::checks
