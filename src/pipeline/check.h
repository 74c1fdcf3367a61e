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

#include "policy/verdict.h"
#include "smtp/server_session.h"

namespace spamgate::pipeline {

using smtp::Stage;

// What a check may see of the session. Pointers are null where the stage has no such thing.
struct Context {
  std::string client_ip;
  uint16_t client_port = 0;
  std::string helo;
  bool tls = false;
  const smtp::MailArgs* mail = nullptr;  // MAIL stage and later
  const smtp::RcptArgs* rcpt = nullptr;  // RCPT stage: the recipient under decision
  const smtp::Transaction* transaction = nullptr;
  const std::string* message = nullptr;  // EndOfData
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
  virtual std::unique_ptr<PendingCheck> start(Stage stage, const Context& context,
                                              CheckDone done) = 0;
};

using Checks = std::vector<std::shared_ptr<Check>>;

}  // namespace spamgate::pipeline
