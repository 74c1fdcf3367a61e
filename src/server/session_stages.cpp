// The session's side of the pipeline: running a stage's checks, turning their evidence into a
// verdict, asking the relay, answering the machine, and logging the decision.
#include <chrono>
#include <ctime>

#include "auth/authentication_results.h"
#include "auth/dkim_signature.h"
#include "base/decision_id.h"
#include "checks/pregreet.h"
#include "checks/reputation.h"
#include "dns/resolver.h"
#include "metrics/observe.h"
#include "policy/headers.h"
#include "policy/rewrite.h"
#include "server/session.h"
#include "server/transaction_log.h"

namespace spamgate::server {

namespace {

constexpr auto kStageDeadline = std::chrono::seconds(60);

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The MAIL FROM domain when SPF passed for it (greylisting then trusts the domain next time).
std::string spfPassDomain(const auth::AuthFacts& auth) {
  const auto& spf = auth.spf;
  return spf && spf->result == auth::SpfResult::Pass && !spf->helo_identity ? spf->domain : "";
}

smtp::Reply withId(smtp::Reply reply, const std::string& id) {
  reply.text += (reply.text.empty() ? "id=" : " id=") + id;
  return reply;
}

std::string actionFor(const smtp::Reply& reply) {
  return reply.positive() ? "accept" : reply.transient() ? "tempfail" : "reject";
}

}  // namespace

void Session::runStage(smtp::Stage stage) {
  if (stage == smtp::Stage::Mail) {
    transaction_ = std::make_unique<TransactionLog>();
    transaction_->id = base::newDecisionId();
    transaction_->has_mail = true;
    transaction_->mail_from = machine_.pendingMail()->reverse_path;
    facts_.auth = {};
    dkim_prefetch_ = {};
  }
  if (stage == smtp::Stage::Connect) sendBannerContinuation();
  std::weak_ptr<bool> alive = alive_;
  auto run =
      pipeline::StageRun::start(env_.base, env_.runtime->checks, stage, context(), kStageDeadline,
                                [this, stage, alive](pipeline::StageOutcome outcome) {
                                  if (!alive.expired()) onChecksDone(stage, std::move(outcome));
                                });
  if (run) stage_run_ = std::move(run);
}

// The pregreet check judges the facts when it runs: at once (wait = 0) or at the end of its
// wait. The greeting goes out only when every connect check is done, DNS ones included, so a
// client that spoke while they still ran spoke before the greeting as well: judged again here.
void Session::judgeLatePregreet(pipeline::StageOutcome& outcome) {
  if (!facts_.pregreet) return;
  for (auto& record : outcome.records) {
    if (record.check != "pregreet" || record.timed_out) continue;
    for (const auto& symbol : record.result.symbols) {
      if (symbol.name == "PREGREET") return;
    }
    record.result = checks::judgePregreet(config_.pregreet, &facts_);
    return;
  }
}

void Session::prefetchDkimKeys() {
  constexpr std::size_t kMaxHeaderBlock = 256 * 1024;
  if (dkim_prefetch_.done || !machine_.inData() || !env_.runtime->config->dkim.enabled) return;
  const std::string_view message = machine_.transaction().message;
  const auto from = dkim_prefetch_.scanned < 3 ? 0 : dkim_prefetch_.scanned - 3;
  const auto end = message.find("\r\n\r\n", from);
  dkim_prefetch_.scanned = message.size();
  if (end == std::string_view::npos) {
    dkim_prefetch_.done = message.size() > kMaxHeaderBlock;
    return;
  }
  dkim_prefetch_.done = true;
  const auto found =
      auth::findDkimSignatures(message.substr(0, end + 4), config_.dkim.max_signatures);
  for (const auto& signature : found.signatures) {
    if (signature.keyName().empty()) continue;
    dkim_prefetch_.lookups.push_back(
        env_.resolver->lookup(signature.keyName(), dns::Type::TXT, [](dns::Result) {}));
  }
}

void Session::onChecksDone(smtp::Stage stage, pipeline::StageOutcome outcome) {
  if (stage == smtp::Stage::Connect) judgeLatePregreet(outcome);
  const bool connection_stage = stage == smtp::Stage::Connect || stage == smtp::Stage::Helo;
  auto& symbols = connection_stage || !transaction_ ? connection_symbols_ : transaction_->symbols;
  std::vector<policy::Opinion> opinions;
  for (auto& record : outcome.records) {
    metrics::checkDone(record.check, record.duration, record.timed_out);
    for (auto& symbol : record.result.symbols)
      symbols.push_back(std::move(symbol));
    if (!record.result.opinion) continue;
    auto& opinion = *record.result.opinion;
    auto& to = stage == smtp::Stage::Connect && opinion.at_rcpt ? rcpt_opinions_ : opinions;
    to.push_back(std::move(opinion));
  }
  if (stage == smtp::Stage::Rcpt) {
    opinions.insert(opinions.end(), rcpt_opinions_.begin(), rcpt_opinions_.end());
  }
  if (stage == smtp::Stage::Connect) greeted_ = true;
  auto all = connection_symbols_;
  if (transaction_ && !connection_stage) {
    all.insert(all.end(), transaction_->symbols.begin(), transaction_->symbols.end());
  }
  const auto& policy = env_.runtime->config->policy;
  afterVerdict(stage, policy::decide(stage, all, opinions,
                                     policy::Thresholds{policy.tag_score, policy.reject_score,
                                                        policy.tempfail_score}));
}

void Session::afterVerdict(smtp::Stage stage, const policy::Verdict& verdict) {
  if (stage == smtp::Stage::EndOfData) return endOfData(verdict);
  if (verdict.action >= policy::Action::Tempfail && verdict.reply) {
    if (stage == smtp::Stage::Connect) metrics::connectionRefused();
    const std::string action(policy::actionName(verdict.action));
    if (transaction_ && stage != smtp::Stage::Connect && stage != smtp::Stage::Helo) {
      transaction_->action = action;
      transaction_->reason = verdict.reason;
      transaction_->refusal = *verdict.reply;
      if (const auto* rcpt = machine_.pendingRcpt()) {
        transaction_->rcpts.push_back(log::RecipientRecord{rcpt->forward_path, *verdict.reply});
      }
    } else {
      connection_action_ = action;
      connection_reason_ = verdict.reason;
      connection_refusal_ = *verdict.reply;
    }
    // After "220-" no other code may follow in the same reply: a client that talked during
    // the wait is dropped; any other refusal is given at RCPT, after a complete greeting.
    if (stage == smtp::Stage::Connect && banner_continued_) {
      if (facts_.pregreet) return beginClose();
      rcpt_opinions_.push_back(
          policy::Opinion{verdict.action, *verdict.reply, verdict.reason, true});
      return completeStage({});
    }
    return completeStage(smtp::StageResult{verdict.reply});
  }
  if (stage == smtp::Stage::Mail) return relayMail();
  if (stage == smtp::Stage::Rcpt) return relayRcpt();
  completeStage({});
}

void Session::relayMail() {
  relay_ = env_.relay->begin(clientInfo());
  const auto* args = machine_.pendingMail();
  std::weak_ptr<bool> alive = alive_;
  relay_->mail(args->reverse_path, args->relay_params, [this, alive](relay::Outcome outcome) {
    if (alive.expired()) return;
    if (!outcome.reply.positive()) {
      transaction_->action = actionFor(outcome.reply);
      transaction_->reason = "backend: " + outcome.detail;  // refused, or not reachable
      transaction_->backend_reply = outcome.detail;
    }
    completeStage(smtp::StageResult{outcome.reply});
  });
}

void Session::relayRcpt() {
  const std::string address = machine_.pendingRcpt()->forward_path;
  std::weak_ptr<bool> alive = alive_;
  relay_->rcpt(address, "", [this, alive, address](relay::Outcome outcome) {
    if (alive.expired()) return;
    transaction_->rcpts.push_back(log::RecipientRecord{address, outcome.reply});
    if (!outcome.reply.positive()) transaction_->backend_reply = outcome.detail;
    completeStage(smtp::StageResult{outcome.reply});
  });
}

void Session::endOfData(const policy::Verdict& verdict) {
  const auto& message = machine_.transaction().message;
  transaction_->size = machine_.transaction().size;
  transaction_->message_id = policy::headerValue(message, "Message-ID");
  transaction_->reason = verdict.reason;
  if (keepInQuarantine(verdict)) return;
  if (verdict.action >= policy::Action::Tempfail) return refuseMessage(verdict);
  // A first line that is a continuation would fold into the last header we add (our
  // Authentication-Results, X-Spam-*) and speak in our name: refuse it (RFC 5322 2.2.3).
  if (!message.empty() && (message.front() == ' ' || message.front() == '\t')) {
    return refuseMessage(policy::Verdict{
        policy::Action::Reject,
        smtp::makeReply(550, "5.6.0", "Malformed header: the message begins with a folded line"),
        "protocol: message begins with a folded line"});
  }
  std::weak_ptr<bool> alive = alive_;
  relay_->deliver(stampedMessage(verdict), [this, alive, verdict](relay::Outcome outcome) {
    if (!alive.expired()) onDelivered(verdict, std::move(outcome));
  });
}

void Session::refuseMessage(const policy::Verdict& verdict) {
  relay_.reset();  // the backend never completes a message the checks refused (RSET)
  auto reply = withId(verdict.reply.value_or(smtp::makeReply(550, "5.7.1", "Message rejected")),
                      transaction_->id);
  logTransaction(std::string(policy::actionName(verdict.action)), reply);
  completeStage(smtp::StageResult{std::move(reply)});
}

void Session::onDelivered(const policy::Verdict& verdict, relay::Outcome outcome) {
  relay_.reset();
  transaction_->backend_reply = outcome.detail;
  transaction_->queue_id = outcome.queue_id;
  smtp::Reply reply;
  std::string action;
  if (outcome.reply.positive()) {
    reply = smtp::makeReply(250, "2.0.0", "Ok: queued as " + transaction_->id);
    action = verdict.action == policy::Action::Tag ? "tag" : "accept";
  } else {
    reply = withId(outcome.reply, transaction_->id);
    action = actionFor(outcome.reply);
    transaction_->reason = "backend: " + outcome.detail;
  }
  logTransaction(action, reply);
  completeStage(smtp::StageResult{std::move(reply)});
}

std::string Session::stampedMessage(const policy::Verdict& verdict) {
  policy::ReceivedInfo received;
  received.helo = machine_.helo();
  received.client_ip = client_ip_;
  received.hostname = config_.server.hostname;
  received.protocol = protocolName();
  received.tls = tls_description_;
  received.id = transaction_->id;
  const auto& recipients = machine_.transaction().recipients;
  if (machine_.transaction().accepted() == 1) {
    for (const auto& r : recipients) {
      if (r.accepted) received.recipient = r.address;
    }
  }
  received.when = std::time(nullptr);
  std::string ours = policy::receivedHeader(received);
  const auto& config = *env_.runtime->config;
  if (config.spf.enabled || config.dkim.enabled || config.dmarc.enabled) {
    ours += auth::authenticationResultsHeader(config.server.authserv_id, facts_.auth);
  }
  const bool tag = verdict.action == policy::Action::Tag;
  if (tag || config.policy.clean_status) {
    std::vector<policy::Symbol> all = connection_symbols_;
    all.insert(all.end(), transaction_->symbols.begin(), transaction_->symbols.end());
    ours += policy::spamHeaders(tag, policy::totalScore(all), config.policy.tag_score, all);
  }
  const std::string message = machine_.takeMessage();
  return policy::stampMessage(
      ours, message,
      policy::Rewrite{config.server.authserv_id, tag ? config.policy.subject_prefix : ""});
}

pipeline::Context Session::context() {
  pipeline::Context context;
  context.client_ip = client_ip_;
  context.client_port = client_port_;
  context.hostname = config_.server.hostname;
  const auto* helo = machine_.pendingHelo();
  context.helo = helo ? *helo : machine_.helo();
  context.tls = machine_.tlsActive();
  context.mail = machine_.pendingMail();
  if (!context.mail && machine_.transaction().active) context.mail = &machine_.transaction().mail;
  context.rcpt = machine_.pendingRcpt();
  context.transaction = &machine_.transaction();
  context.message = &machine_.transaction().message;
  context.facts = &facts_;
  context.resolver = env_.resolver.get();
  context.loop = env_.base;
  context.offload = env_.offload;
  context.state = env_.store;
  context.rates = env_.store;
  for (const auto& symbol : connection_symbols_)
    context.prior_symbols.push_back(symbol.name);
  context.prior_score = policy::totalScore(connection_symbols_);
  if (transaction_) {
    for (const auto& symbol : transaction_->symbols)
      context.prior_symbols.push_back(symbol.name);
    context.prior_score += policy::totalScore(transaction_->symbols);
  }
  return context;
}

relay::ClientInfo Session::clientInfo() const {
  return relay::ClientInfo{client_ip_, client_port_, machine_.helo(), "", machine_.esmtp()};
}

void Session::noteTransactionEnd() {
  if (!transaction_ || machine_.waiting() || machine_.transaction().active) return;
  relay_.reset();
  if (transaction_->size == 0) transaction_->size = machine_.lastMessageSize();
  const smtp::Reply reply = decisionReply(transaction_->refusal);
  if (transaction_->action == "none" && reply.code >= 400) {
    // The machine refused the message itself (size, line length, bare LF, a refused chunk).
    transaction_->action = actionFor(reply);
    transaction_->reason = "protocol: " + reply.text;
  }
  logTransaction(transaction_->action, reply);
}

// The reply a decision line shows: the last one sent, unless the checks refused and the client
// carried on (RSET, NOOP, QUIT...): then the refusal, the reply the decision was about.
smtp::Reply Session::decisionReply(const std::optional<smtp::Reply>& refusal) const {
  const smtp::Reply last = last_reply_.value_or(smtp::Reply{});
  return refusal && (last.positive() || last.code == 503) ? *refusal : last;
}

log::Decision Session::baseDecision() const {
  log::Decision d;
  d.time_ms = nowMs();
  d.client_ip = client_ip_;
  d.client_port = client_port_;
  d.helo = machine_.helo();
  d.tls = tls_description_;
  return d;
}

void Session::logTransaction(const std::string& action, const smtp::Reply& reply) {
  auto d = baseDecision();
  auto& t = *transaction_;
  d.id = t.id;
  d.has_mail = t.has_mail;
  d.mail_from = t.mail_from;
  d.rcpts = std::move(t.rcpts);
  d.size = t.size;
  d.message_id = t.message_id;
  d.action = action;
  d.reason = t.reason;
  d.reply = reply;
  d.symbols = connection_symbols_;
  d.symbols.insert(d.symbols.end(), t.symbols.begin(), t.symbols.end());
  d.score = policy::totalScore(d.symbols);
  d.backend_reply = t.backend_reply;
  d.queue_id = t.queue_id;
  d.quarantined = t.quarantined;
  d.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t.started).count();
  env_.decisions->write(d);
  if (env_.store != nullptr) {
    checks::learnFromDecision(*env_.store, config_,
                              {client_ip_, action, t.reason, spfPassDomain(facts_.auth)});
  }
  metrics::observe(d);
  ++transactions_logged_;
  transaction_.reset();
}

void Session::logConnection() {
  if (transactions_logged_ > 0) return;
  auto d = baseDecision();
  d.event = "connection";
  d.id = base::newDecisionId();
  d.action = connection_action_;
  d.reason = connection_reason_;
  d.reply = decisionReply(connection_refusal_);
  d.symbols = connection_symbols_;
  d.score = policy::totalScore(d.symbols);
  d.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count();
  env_.decisions->write(d);
  metrics::observe(d);
}

}  // namespace spamgate::server
