#include "relay/smtp_backend.h"

#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "relay/backend_connection.h"
#include "relay/commands.h"

namespace spamgate::relay {

namespace {

Outcome failureOutcome(int code, const char* enhanced, const char* text, std::string detail,
                       bool closes = false) {
  return Outcome{smtp::makeReply(code, enhanced, text, closes), std::move(detail), {}};
}

Outcome unavailable(std::string detail) {
  return failureOutcome(421, "4.4.1", "Error: backend not available, try again later",
                        std::move(detail), true);
}

Outcome connectionLost(std::string detail) {
  return failureOutcome(451, "4.4.1", "Error: backend connection lost, try again later",
                        std::move(detail));
}

Outcome backendError(std::string detail) {
  return failureOutcome(451, "4.3.0", "Error: temporary backend failure, try again later",
                        std::move(detail));
}

const char* commandName(Command command) {
  switch (command) {
    case Command::Mail:
      return "MAIL";
    case Command::Rcpt:
      return "RCPT";
    case Command::Data:
      return "DATA";
    case Command::Rset:
      return "RSET";
    case Command::Quit:
      return "QUIT";
  }
  return "?";
}

Outcome mapReply(Command command, const Event& event) {
  const smtp::Reply& reply = event.reply;
  std::string detail = event.detail.empty() ? reply.summary() : event.detail;
  if (event.unexpected) {
    return backendError("unexpected reply to " + std::string(commandName(command)) + ": " +
                        reply.summary());
  }
  if (reply.code / 100 != 2) {
    Outcome out{reply, std::move(detail), {}};
    out.reply.closes = false;
    if (out.reply.enhanced.empty()) out.reply.enhanced = std::to_string(reply.code / 100) + ".0.0";
    return out;
  }
  switch (command) {
    case Command::Mail:
      return Outcome{smtp::makeReply(250, "2.1.0", "Ok"), std::move(detail), {}};
    case Command::Rcpt:
      return Outcome{smtp::makeReply(250, "2.1.5", "Ok"), std::move(detail), {}};
    default:
      return Outcome{smtp::makeReply(250, "2.0.0", "Ok"), std::move(detail),
                     queueIdFrom(reply.text)};
  }
}

Outcome mapFailure(const Failure& failure) {
  if (failure.setup) return unavailable(failure.detail);
  if (failure.unexpected) return backendError(failure.detail);
  return connectionLost(failure.detail);
}

class SmtpTransaction final : public Transaction, private BackendConnection::Listener {
 public:
  SmtpTransaction(std::shared_ptr<BackendContext> context, ClientInfo client)
      : context_(std::move(context)), client_(std::move(client)) {}
  ~SmtpTransaction() override {
    if (connection_ != nullptr) connection_->release();
  }
  SmtpTransaction(const SmtpTransaction&) = delete;
  SmtpTransaction& operator=(const SmtpTransaction&) = delete;

  void mail(const std::string& reverse_path, const std::string& params, Callback done) override;
  void rcpt(const std::string& forward_path, const std::string& params, Callback done) override;
  void deliver(std::string message, Callback done) override;

 private:
  struct Recipient {
    std::string path;
    std::string params;
    bool accepted = false;
  };
  struct Expect {
    Command command;
    Callback done;
    std::size_t rcpt = 0;
    bool replay = false;  // sent again on a fresh connection; nobody waits for it
  };

  void onBackendReply(const Event& event) override;
  void onBackendFailure(const Failure& failure) override;
  void connect();
  void startData();
  void onReplayReply(const Expect& expect, const Event& event);
  void failPending(const Outcome& outcome);
  bool anyAccepted() const;

  std::shared_ptr<BackendContext> context_;
  ClientInfo client_;
  BackendConnection* connection_ = nullptr;  // frees itself; released when we let go
  std::string reverse_path_;
  std::string mail_params_;
  std::optional<uint64_t> declared_size_;
  bool mail_accepted_ = false;
  std::vector<Recipient> rcpts_;
  std::deque<Expect> expects_;
  unsigned replaying_ = 0;  // replayed commands still unanswered
  std::shared_ptr<const std::string> message_;
  Callback deliver_done_;       // deliver() waiting for a replay to finish
  bool deliver_fresh_ = false;  // deliver() opened the connection itself
  bool retried_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

void SmtpTransaction::mail(const std::string& reverse_path, const std::string& params,
                           Callback done) {
  reverse_path_ = reverse_path;
  mail_params_ = withoutSize(params, declared_size_);
  mail_accepted_ = false;
  rcpts_.clear();
  if (connection_ == nullptr) connect();
  connection_->session().mail(reverse_path_, mail_params_, declared_size_);
  expects_.push_back(Expect{Command::Mail, std::move(done), 0, false});
  connection_->flush();
}

void SmtpTransaction::rcpt(const std::string& forward_path, const std::string& params,
                           Callback done) {
  rcpts_.push_back(Recipient{forward_path, params, false});
  if (connection_ == nullptr) connect();
  connection_->session().rcpt(forward_path, params);
  expects_.push_back(Expect{Command::Rcpt, std::move(done), rcpts_.size() - 1, false});
  connection_->flush();
}

void SmtpTransaction::deliver(std::string message, Callback done) {
  if (!mail_accepted_ || !anyAccepted()) {
    done(Outcome{smtp::makeReply(554, "5.5.1", "Error: no valid recipients"),
                 "deliver() without an accepted sender and recipient",
                 {}});
    return;
  }
  message_ = std::make_shared<const std::string>(std::move(message));
  deliver_done_ = std::move(done);
  deliver_fresh_ = connection_ == nullptr;
  retried_ = false;
  if (connection_ == nullptr) connect();
  if (replaying_ == 0) startData();
}

void SmtpTransaction::connect() {
  connection_ = BackendConnection::open(context_, client_, this);
  replaying_ = 0;
  if (!mail_accepted_) return;
  // The envelope again, on a fresh connection: only what the backend already accepted.
  std::optional<uint64_t> size =
      message_ ? std::optional<uint64_t>(message_->size()) : declared_size_;
  connection_->session().mail(reverse_path_, mail_params_, size);
  expects_.push_back(Expect{Command::Mail, {}, 0, true});
  ++replaying_;
  for (std::size_t i = 0; i < rcpts_.size(); ++i) {
    if (!rcpts_[i].accepted) continue;
    connection_->session().rcpt(rcpts_[i].path, rcpts_[i].params);
    expects_.push_back(Expect{Command::Rcpt, {}, i, true});
    ++replaying_;
  }
  connection_->flush();
}

void SmtpTransaction::startData() {
  connection_->session().data(message_);
  expects_.push_back(Expect{Command::Data, std::move(deliver_done_), 0, false});
  deliver_done_ = nullptr;
  connection_->flush();
}

void SmtpTransaction::onBackendReply(const Event& event) {
  if (expects_.empty()) return;  // RSET/QUIT replies belong to nobody
  Expect expect = std::move(expects_.front());
  expects_.pop_front();
  if (expect.replay) {
    onReplayReply(expect, event);
    return;
  }
  Outcome outcome = mapReply(expect.command, event);
  bool accepted = outcome.reply.code == 250;
  if (expect.command == Command::Mail) mail_accepted_ = accepted;
  if (expect.command == Command::Rcpt) rcpts_[expect.rcpt].accepted = accepted;
  if (expect.command == Command::Data) message_.reset();
  expect.done(std::move(outcome));  // may destroy this: nothing after it
}

void SmtpTransaction::onReplayReply(const Expect& expect, const Event& event) {
  if (!event.unexpected && event.reply.code / 100 == 2) {
    if (--replaying_ == 0 && deliver_done_) startData();
    return;
  }
  std::string what = expect.command == Command::Mail ? "MAIL FROM:<" + reverse_path_ + ">"
                                                     : "RCPT TO:<" + rcpts_[expect.rcpt].path + ">";
  std::string detail = "replaying the envelope on a new backend connection: " + what +
                       " now answered " + event.reply.summary();
  BackendConnection* connection = std::exchange(connection_, nullptr);
  connection->release();
  failPending(connectionLost(std::move(detail)));
}

void SmtpTransaction::onBackendFailure(const Failure& failure) {
  connection_ = nullptr;  // gone
  bool delivering =
      deliver_done_ || (!expects_.empty() && expects_.back().command == Command::Data);
  if (delivering && !retried_ && !deliver_fresh_ && !failure.timeout && !failure.message_sent) {
    // The reused connection died under deliver() before the message went out: once more on a
    // fresh connection (the backend may have timed out the idle session just now).
    retried_ = true;
    if (!deliver_done_) deliver_done_ = std::move(expects_.back().done);
    expects_.clear();
    connect();
    if (replaying_ == 0) startData();
    return;
  }
  if (expects_.empty() && !deliver_done_) return;  // idle: the next call replays
  failPending(mapFailure(failure));
}

void SmtpTransaction::failPending(const Outcome& outcome) {
  std::vector<Callback> callbacks;
  for (Expect& expect : expects_) {
    if (!expect.replay && expect.done) callbacks.push_back(std::move(expect.done));
  }
  expects_.clear();
  replaying_ = 0;
  if (deliver_done_) callbacks.push_back(std::exchange(deliver_done_, nullptr));
  message_.reset();
  std::weak_ptr<bool> alive = alive_;
  for (Callback& callback : callbacks) {
    callback(outcome);
    if (alive.expired()) return;
  }
}

bool SmtpTransaction::anyAccepted() const {
  for (const Recipient& r : rcpts_) {
    if (r.accepted) return true;
  }
  return false;
}

class SmtpRelay final : public Relay {
 public:
  SmtpRelay(event_base* base, config::Snapshot config)
      : context_(makeBackendContext(base, std::move(config))) {}
  ~SmtpRelay() override { BackendConnection::closeLingering(*context_); }
  SmtpRelay(const SmtpRelay&) = delete;
  SmtpRelay& operator=(const SmtpRelay&) = delete;

  std::unique_ptr<Transaction> begin(const ClientInfo& client) override {
    return std::make_unique<SmtpTransaction>(context_, client);
  }

 private:
  std::shared_ptr<BackendContext> context_;
};

}  // namespace

std::unique_ptr<Relay> makeSmtpRelay(event_base* base, config::Snapshot config) {
  return std::make_unique<SmtpRelay>(base, std::move(config));
}

}  // namespace spamgate::relay
