// One client connection: the glue between the socket (a bufferevent, with TLS when asked), the
// pure protocol machine (smtp::ServerSession), the pipeline of checks and the relay. It owns
// the timers and the limits, executes the machine's effects, and writes the decision log.
//
// Back-pressure: while a stage runs (checks, or the backend answering), the session stops
// reading from the client; bytes already read wait inside the machine.
// Lifetime: the Worker owns sessions; a session that has ended calls `on_closed` from a
// libevent callback as its very last action, and the worker destroys it there.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns/resolver.h"
#include "log/decision_log.h"
#include "pipeline/stage_run.h"
#include "relay/relay.h"
#include "server/runtime.h"
#include "smtp/server_session.h"

struct bufferevent;
struct event;
struct event_base;

namespace spamgate::server {

struct SessionEnv {
  event_base* base = nullptr;
  RuntimePtr runtime;
  std::shared_ptr<relay::Relay> relay;
  std::shared_ptr<dns::Resolver> resolver;
  pipeline::Offload offload;  // the worker's pool for blocking check work (DKIM)
  log::DecisionLog* decisions = nullptr;
  store::ConnectionCounts* counts = nullptr;
  store::StoreBackend* store = nullptr;  // the worker's state store; null: none
};

class Session {
 public:
  using OnClosed = std::function<void(Session*)>;
  Session(SessionEnv env, int fd, const sockaddr* peer, bool implicit_tls, OnClosed on_closed);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  void shutdown();    // SIGTERM: finish the transaction in flight, then 421 4.3.2
  void forceClose();  // the shutdown deadline passed

 private:
  using Clock = std::chrono::steady_clock;
  struct TransactionLog;

  // I/O (session.cpp)
  void startProtocol();
  void pump();
  void drive(smtp::Effects effects);
  void execute(smtp::Effect& effect);
  void send(const smtp::Reply& reply);
  void startTls();
  void beginClose();
  void flushThenFinish();
  void finish(const std::string& why);
  void armTimer();
  // Implicit TLS before the greeting, or STARTTLS between its 220 and BEV_EVENT_CONNECTED.
  bool handshaking() const { return tls_handshaking_ || !protocol_started_; }
  void attach(bufferevent* bev);
  static void onRead(bufferevent*, void* self);
  static void onWrite(bufferevent*, void* self);
  static void onEvent(bufferevent*, short what, void* self);
  static void onTimer(int, short, void* self);

  // Stages and decisions (session_stages.cpp)
  void runStage(smtp::Stage stage);
  void onChecksDone(smtp::Stage stage, pipeline::StageOutcome outcome);
  void judgeLatePregreet(pipeline::StageOutcome& outcome);
  void prefetchDkimKeys();
  void afterVerdict(smtp::Stage stage, const policy::Verdict& verdict);
  void relayMail();
  void relayRcpt();
  void endOfData(const policy::Verdict& verdict);
  // Quarantine (session_quarantine.cpp): keeps the message off the loop, then endOfData again.
  bool keepInQuarantine(const policy::Verdict& verdict);
  std::string protocolName() const;
  void completeStage(smtp::StageResult result);
  void onDelivered(const policy::Verdict& verdict, relay::Outcome outcome);
  void refuseMessage(const policy::Verdict& verdict);
  std::string stampedMessage(const policy::Verdict& verdict);
  pipeline::Context context();
  void sendBannerContinuation();
  relay::ClientInfo clientInfo() const;
  void noteTransactionEnd();
  void logTransaction(const std::string& action, const smtp::Reply& reply);
  smtp::Reply decisionReply(const std::optional<smtp::Reply>& refusal) const;
  void logConnection();
  log::Decision baseDecision() const;

  SessionEnv env_;
  const config::Config& config_;
  OnClosed on_closed_;
  std::string client_ip_;
  uint16_t client_port_ = 0;
  bool implicit_tls_ = false;
  std::unique_ptr<store::ConnectionCounts::Ticket> ticket_;
  bufferevent* bev_ = nullptr;
  event* timer_ = nullptr;
  smtp::ServerSession machine_;
  std::string tls_description_;
  Clock::time_point started_ = Clock::now();
  Clock::time_point close_deadline_;

  std::unique_ptr<pipeline::StageRun> stage_run_;
  pipeline::SessionFacts facts_;
  std::vector<policy::Symbol> connection_symbols_;
  std::vector<policy::Opinion> rcpt_opinions_;  // connect-stage refusals given at each RCPT
  bool greeted_ = false;
  bool banner_continued_ = false;  // "220-" went out before the connect stage
  std::unique_ptr<relay::Transaction> relay_;
  std::unique_ptr<TransactionLog> transaction_;
  // DKIM key lookups started when the header block is in, kept until the next transaction so
  // that the DKIM check at end of data joins them or finds them cached.
  struct DkimPrefetch {
    std::size_t scanned = 0;  // message octets searched for the end of the header block
    bool done = false;
    std::vector<std::unique_ptr<dns::Lookup>> lookups;
  } dkim_prefetch_;
  unsigned transactions_logged_ = 0;
  std::optional<smtp::Reply> last_reply_;
  std::string connection_action_ = "none";
  std::string connection_reason_;
  std::optional<smtp::Reply> connection_refusal_;  // the checks' refusal at connect or HELO

  std::deque<smtp::Effect> queued_;
  bool protocol_started_ = false;
  bool tls_handshaking_ = false;  // STARTTLS: between the 220 and BEV_EVENT_CONNECTED
  bool driving_ = false;
  bool pumping_ = false;
  bool closing_ = false;
  bool finished_ = false;
  std::optional<smtp::StageResult> inline_result_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace spamgate::server
