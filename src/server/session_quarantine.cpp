// Keeping a message in the quarantine before its decision goes out: the file is written and
// fsynced on the worker pool, then the session carries on with the same verdict. A 550 is thus
// sent only when the message can be released later; a failed write is logged and the decision
// stands (the sender still holds a refused message; a tagged one is delivered anyway).
#include <memory>

#include "log/decision_log.h"
#include "quarantine/quarantine.h"
#include "server/session.h"
#include "server/transaction_log.h"

namespace spamgate::server {

std::string Session::protocolName() const {
  const bool utf8 = machine_.transaction().mail.smtputf8;
  return std::string(utf8               ? "UTF8SMTP"
                     : machine_.esmtp() ? "ESMTP"
                                        : "SMTP") +
         (machine_.tlsActive() ? "S" : "");
}

bool Session::keepInQuarantine(const policy::Verdict& verdict) {
  const config::Quarantine& settings = env_.runtime->config->quarantine;
  const auto action = policy::actionName(verdict.action);
  if (transaction_->quarantine_tried || !settings.keeps(action)) return false;
  transaction_->quarantine_tried = true;

  struct Job {
    quarantine::Quarantine store;
    quarantine::Envelope envelope;
    std::string message;
    bool kept = false;
    std::string error;
  };
  auto job = std::make_shared<Job>(Job{quarantine::Quarantine(settings.dir), {}, {}, false, {}});
  auto& e = job->envelope;
  e.id = transaction_->id;
  e.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  e.client_ip = client_ip_;
  e.helo = machine_.helo();
  e.protocol = protocolName();
  e.tls = tls_description_;
  e.mail_from = transaction_->mail_from;
  for (const auto& r : machine_.transaction().recipients) {
    if (r.accepted) e.rcpts.push_back(r.address);
  }
  e.action = action;
  e.score = policy::totalScore(connection_symbols_) + policy::totalScore(transaction_->symbols);
  e.reason = verdict.reason;
  job->message = machine_.transaction().message;

  std::weak_ptr<bool> alive = alive_;
  auto work = [job] {
    job->kept = job->store.keep(job->envelope, job->message, job->error);
    job->message = std::string();
  };
  auto done = [this, alive, job, verdict] {
    if (alive.expired()) return;
    transaction_->quarantined = job->kept;
    if (!job->kept) log::message(log::Level::Error, "quarantine: " + job->error);
    endOfData(verdict);
  };
  if (env_.offload(std::move(work), std::move(done))) return true;
  log::message(log::Level::Warning, "quarantine: worker pool queue full, " + e.id + " not kept");
  return false;
}

}  // namespace spamgate::server
