// `spamgate release [-c CONFIG] ID`: delivers a quarantined message to the backend with its
// original envelope, once. The release is claimed in the quarantine before anything is sent
// (quarantine.h), so a second run reports the first instead of delivering again, and logged as
// a decision of its own (event "release", `release_of` = the quarantined id).
#include <event2/event.h>

#include <ctime>
#include <iostream>
#include <memory>
#include <optional>

#include "app/command.h"
#include "base/decision_id.h"
#include "config/config.h"
#include "log/decision_log.h"
#include "net/worker_pool.h"
#include "policy/headers.h"
#include "policy/rewrite.h"
#include "quarantine/quarantine.h"
#include "relay/relay.h"

namespace spamgate::app {

namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The message as the backend gets it: a Received header for the original hop (the client and
// time of the quarantined transaction) and a note of the release on top.
std::string releasedMessage(const config::Config& config, const quarantine::Entry& entry,
                            const std::string& release_id) {
  const auto& e = entry.envelope;
  policy::ReceivedInfo received;
  received.helo = e.helo;
  received.client_ip = e.client_ip;
  received.hostname = config.server.hostname;
  received.protocol = e.protocol.empty() ? "ESMTP" : e.protocol;
  received.tls = e.tls;
  received.id = e.id;
  if (e.rcpts.size() == 1) received.recipient = e.rcpts.front();
  received.when = static_cast<std::time_t>(e.time_ms / 1000);
  const std::string ours = policy::receivedHeader(received) + "X-Spamgate-Released: " + e.id +
                           " by release " + release_id + "; " +
                           policy::rfc5322Date(std::time(nullptr)) + "\r\n";
  return policy::stampMessage(ours, entry.message, policy::Rewrite{config.server.authserv_id, ""});
}

// One backend transaction on a private event loop: MAIL, each RCPT, then the message.
class Delivery {
 public:
  Delivery(const config::Snapshot& config, const quarantine::Entry& entry, std::string message)
      : base_(event_base_new()),
        inbox_(base_),
        pool_(1, 4),
        entry_(entry),
        message_(std::move(message)) {
    relay_ = relay::makeRelay(base_, config, inbox_, pool_);
  }
  ~Delivery() {
    transaction_.reset();
    relay_.reset();
    event_base_free(base_);
  }
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;

  relay::Outcome run(std::vector<log::RecipientRecord>& rcpts) {
    const auto& e = entry_.envelope;
    transaction_ = relay_->begin(relay::ClientInfo{e.client_ip, 0, e.helo, "", true});
    transaction_->mail(e.mail_from, "", [this](relay::Outcome o) { afterMail(std::move(o)); });
    event_base_dispatch(base_);
    rcpts = std::move(rcpts_);
    return outcome_.value_or(relay::Outcome{
        smtp::makeReply(451, "4.3.0", "no answer"), "release: the backend never answered", {}});
  }

 private:
  void finish(relay::Outcome outcome) {
    outcome_ = std::move(outcome);
    event_base_loopexit(base_, nullptr);
  }
  void afterMail(relay::Outcome outcome) {
    if (!outcome.reply.positive()) return finish(std::move(outcome));
    nextRcpt();
  }
  void nextRcpt() {
    const auto& all = entry_.envelope.rcpts;
    if (rcpts_.size() == all.size()) return deliver();
    const std::string address = all[rcpts_.size()];
    transaction_->rcpt(address, "", [this, address](relay::Outcome o) {
      if (o.reply.positive()) ++accepted_;
      rcpts_.push_back(log::RecipientRecord{address, o.reply});
      last_refusal_ = o.reply.positive() ? last_refusal_ : std::optional(o);
      nextRcpt();
    });
  }
  void deliver() {
    if (accepted_ == 0) {
      return finish(last_refusal_.value_or(relay::Outcome{
          smtp::makeReply(554, "5.5.1", "no recipients"), "release: no recipients", {}}));
    }
    transaction_->deliver(std::move(message_), [this](relay::Outcome o) { finish(std::move(o)); });
  }

  event_base* base_;
  net::LoopInbox inbox_;
  net::WorkerPool pool_;
  const quarantine::Entry& entry_;
  std::string message_;
  std::unique_ptr<relay::Relay> relay_;
  std::unique_ptr<relay::Transaction> transaction_;
  std::vector<log::RecipientRecord> rcpts_;
  unsigned accepted_ = 0;
  std::optional<relay::Outcome> last_refusal_;
  std::optional<relay::Outcome> outcome_;
};

log::Decision releaseDecision(const quarantine::Entry& entry, const std::string& release_id) {
  const auto& e = entry.envelope;
  log::Decision d;
  d.event = "release";
  d.time_ms = nowMs();
  d.id = release_id;
  d.release_of = e.id;
  d.client_ip = e.client_ip;
  d.helo = e.helo;
  d.tls = e.tls;
  d.has_mail = true;
  d.mail_from = e.mail_from;
  d.size = entry.message.size();
  d.message_id = policy::headerValue(entry.message, "Message-ID");
  d.score = e.score;
  return d;
}

int refuseClaim(const quarantine::Claim& claim, const std::string& id,
                const quarantine::Quarantine& store) {
  using quarantine::ReleaseState;
  if (claim.state == ReleaseState::AlreadyReleased) {
    std::cout << id << " was released already (" << claim.detail << "): not sent again\n";
    return 0;
  }
  if (claim.state == ReleaseState::Interrupted) {
    std::cerr << "spamgate: a release of " << id << " was started and did not finish; check "
              << "whether the backend has it, then remove " << claim.detail << " to try again ("
              << store.pathOf(id) << " is kept)\n";
    return 1;
  }
  std::cerr << "spamgate: cannot claim the release of " << id << ": " << claim.detail << "\n";
  return 1;
}

int release(const std::string& config_path, const std::string& id) {
  const config::Snapshot config =
      config_path.empty() ? config::defaults() : config::load(config_path);
  if (!config->quarantine.enabled()) {
    std::cerr << "spamgate: the quarantine is off (quarantine.dir is empty)\n";
    return 1;
  }
  const quarantine::Quarantine store(config->quarantine.dir);
  std::string error;
  const auto entry = store.read(id, error);
  if (!entry) {
    std::cerr << "spamgate: " << error << "\n";
    return 1;
  }
  const quarantine::Claim claim = store.claimRelease(id);
  if (claim.state != quarantine::ReleaseState::Claimed) return refuseClaim(claim, id, store);

  const std::string release_id = base::newDecisionId();
  log::Decision d = releaseDecision(*entry, release_id);
  const relay::Outcome outcome =
      Delivery(config, *entry, releasedMessage(*config, *entry, release_id)).run(d.rcpts);
  const bool delivered = outcome.reply.positive();
  d.action = delivered ? "accept" : outcome.reply.transient() ? "tempfail" : "reject";
  d.reason = "release of " + id + (delivered ? "" : " failed: " + outcome.detail);
  d.reply = outcome.reply;
  d.backend_reply = outcome.detail;
  d.queue_id = outcome.queue_id;
  d.duration_ms = nowMs() - d.time_ms;
  log::DecisionLog(config->log.decisions).write(d);
  if (!delivered) {
    store.abandonRelease(id);
    std::cerr << "spamgate: release of " << id << " failed: " << outcome.detail << "\n";
    return 1;
  }
  if (!store.completeRelease(id, "released as " + release_id + ": " + outcome.detail, error)) {
    std::cerr << "spamgate: " << id << " was delivered but not marked released: " << error << "\n";
    return 1;
  }
  std::cout << "released " << id << " as " << release_id << ": " << outcome.detail << "\n";
  return 0;
}

}  // namespace

Command addReleaseCommand(CLI::App& app) {
  struct Options {
    std::string config_path;
    std::string id;
  };
  auto options = std::make_shared<Options>();
  auto* cli = app.add_subcommand(
      "release", "Deliver a quarantined message to the backend with its original envelope, once");
  cli->add_option("-c,--config", options->config_path, "Configuration file (TOML)");
  cli->add_option("id", options->id, "The decision id (from the reply text or the log)")
      ->required();
  return {cli, [options] { return release(options->config_path, options->id); }};
}

}  // namespace spamgate::app
