#include "server/session.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>

#include "metrics/observe.h"
#include "net/listener.h"
#include "server/transaction_log.h"

namespace spamgate::server {

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kReadHighWater = 256 * 1024;
constexpr auto kLinger = std::chrono::seconds(10);  // a closing client that never reads
constexpr auto kFlushPoll = std::chrono::milliseconds(10);

smtp::SessionOptions sessionOptions(const config::Config& config, bool tls_available,
                                    bool implicit_tls) {
  const auto& server = config.server;
  smtp::SessionOptions options;
  options.hostname = server.hostname;
  options.banner = server.banner;
  options.limits = smtp::SessionLimits{server.max_command_line, server.max_line_length,
                                       server.max_message_size, server.max_recipients,
                                       server.max_errors,       server.max_unknown_commands};
  options.reject_bare_linefeed = server.bare_linefeed == config::BareLinefeed::Reject;
  options.tls_available = tls_available;
  options.tls_active = implicit_tls;
  return options;
}

timeval toTimeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

// Octets written but not on the socket yet. A TLS filter (STARTTLS) hands its ciphertext to the
// underlying bufferevent, whose draining the filter's write callback does not report.
std::size_t unsentOutput(bufferevent* bev) {
  std::size_t n = evbuffer_get_length(bufferevent_get_output(bev));
  if (bufferevent* under = bufferevent_get_underlying(bev)) {
    n += evbuffer_get_length(bufferevent_get_output(under));
  }
  return n;
}

}  // namespace

Session::Session(SessionEnv env, int fd, const sockaddr* peer, bool implicit_tls,
                 OnClosed on_closed)
    : env_(std::move(env)),
      config_(*env_.runtime->config),
      on_closed_(std::move(on_closed)),
      client_ip_(net::addressText(peer)),
      client_port_(net::addressPort(peer)),
      implicit_tls_(implicit_tls),
      ticket_(env_.counts->admit(client_ip_)),
      timer_(evtimer_new(env_.base, &Session::onTimer, this)),
      machine_(sessionOptions(config_, env_.runtime->tls != nullptr, implicit_tls)) {
  metrics::connectionOpened();
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int options = BEV_OPT_CLOSE_ON_FREE;
  if (implicit_tls && env_.runtime->tls) {
    attach(bufferevent_openssl_socket_new(env_.base, fd, env_.runtime->tls->newSession(),
                                          BUFFEREVENT_SSL_ACCEPTING, options));
  } else {
    attach(bufferevent_socket_new(env_.base, fd, options));
  }
}

Session::~Session() {
  *alive_ = false;
  stage_run_.reset();
  relay_.reset();
  if (bev_ != nullptr) bufferevent_free(bev_);
  event_free(timer_);
  metrics::connectionClosed();
}

void Session::attach(bufferevent* bev) {
  bev_ = bev;
  bufferevent_setcb(bev_, &Session::onRead, &Session::onWrite, &Session::onEvent, this);
  bufferevent_setwatermark(bev_, EV_READ, 0, kReadHighWater);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
}

void Session::start() {
  if (implicit_tls_) return armTimer();  // the greeting waits for BEV_EVENT_CONNECTED
  startProtocol();
}

// postscreen's greet wait: with [pregreet] wait, "220-" goes out first and the greeting after
// the connect stage; a client that speaks in between is a pregreeter.
void Session::sendBannerContinuation() {
  const auto& pregreet = config_.pregreet;
  if (!pregreet.enabled || pregreet.wait.count() == 0) return;
  const std::string line = "220-" + config_.server.hostname + " " + config_.server.banner + "\r\n";
  bufferevent_write(bev_, line.data(), line.size());
  banner_continued_ = true;
}

void Session::startProtocol() {
  protocol_started_ = true;
  drive(machine_.start());
  pump();
}

void Session::shutdown() {
  if (!closing_) drive(machine_.shutdown());
}

void Session::forceClose() {
  if (closing_) return;
  stage_run_.reset();
  relay_.reset();
  drive(machine_.abort(
      smtp::makeReply(421, "4.3.2", config_.server.hostname + " Service shutting down")));
}

void Session::pump() {
  // Until the handshake is done, bytes are TLS records or (STARTTLS) the first command of the
  // encrypted session, which the filter may deliver before it reports BEV_EVENT_CONNECTED.
  if (pumping_ || !protocol_started_ || tls_handshaking_) return;
  pumping_ = true;
  evbuffer* input = bufferevent_get_input(bev_);
  if (!greeted_ && evbuffer_get_length(input) > 0) facts_.pregreet = true;
  std::string chunk;
  while (!closing_ && !machine_.waiting() && !machine_.closed() && evbuffer_get_length(input) > 0) {
    chunk.resize(std::min(kReadChunk, evbuffer_get_length(input)));
    const auto n = evbuffer_remove(input, chunk.data(), chunk.size());
    if (n <= 0) break;
    chunk.resize(static_cast<std::size_t>(n));
    drive(machine_.receive(chunk));
    prefetchDkimKeys();
  }
  pumping_ = false;
  if (closing_) return;
  if (machine_.waiting() && greeted_) {
    bufferevent_disable(bev_, EV_READ);  // back-pressure while checks or the backend work
    evtimer_del(timer_);
  } else {
    bufferevent_enable(bev_, EV_READ);
    armTimer();
  }
}

void Session::drive(smtp::Effects effects) {
  for (auto& effect : effects)
    queued_.push_back(std::move(effect));
  if (driving_) return;  // an inline completion: the outer loop carries on
  driving_ = true;
  while (!queued_.empty() || inline_result_) {
    if (queued_.empty()) {
      auto result = std::move(*inline_result_);
      inline_result_.reset();
      for (auto& effect : machine_.resume(std::move(result)))
        queued_.push_back(std::move(effect));
      continue;
    }
    auto effect = std::move(queued_.front());
    queued_.pop_front();
    execute(effect);
  }
  driving_ = false;
  noteTransactionEnd();
}

void Session::execute(smtp::Effect& effect) {
  if (auto* send_effect = std::get_if<smtp::effect::Send>(&effect)) {
    send(send_effect->reply);
  } else if (auto* stage = std::get_if<smtp::effect::RunStage>(&effect)) {
    runStage(stage->stage);
  } else if (std::holds_alternative<smtp::effect::StartTls>(effect)) {
    startTls();
  } else {
    beginClose();
  }
}

void Session::send(const smtp::Reply& reply) {
  const std::string wire = reply.wire();
  bufferevent_write(bev_, wire.data(), wire.size());
  last_reply_ = reply;
}

void Session::completeStage(smtp::StageResult result) {
  stage_run_.reset();
  if (driving_) {
    inline_result_ = std::move(result);
    return;
  }
  drive(machine_.resume(std::move(result)));
  pump();
}

void Session::startTls() {
  tls_handshaking_ = true;
  evbuffer_drain(bufferevent_get_input(bev_), evbuffer_get_length(bufferevent_get_input(bev_)));
  SSL* ssl = env_.runtime->tls->newSession();
  bufferevent* filter = bufferevent_openssl_filter_new(
      env_.base, bev_, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
  if (filter == nullptr) {
    SSL_free(ssl);
    connection_reason_ = "tls setup failed";
    return beginClose();
  }
  attach(filter);
  armTimer();
}

void Session::beginClose() {
  closing_ = true;
  close_deadline_ = Clock::now() + kLinger;
  stage_run_.reset();
  bufferevent_disable(bev_, EV_READ);
  const auto tv = toTimeval(std::chrono::milliseconds(0));
  evtimer_add(timer_, &tv);
}

// Closing: the last reply must reach the socket before the bufferevent is freed. Polls while
// output is pending, for at most kLinger (a client that never reads).
void Session::flushThenFinish() {
  if (unsentOutput(bev_) == 0 || Clock::now() >= close_deadline_) {
    return finish("closed by server");
  }
  const auto tv = toTimeval(kFlushPoll);
  evtimer_add(timer_, &tv);
}

void Session::armTimer() {
  const auto& timeouts = config_.server.timeouts;
  const auto timeout = handshaking()             ? timeouts.tls_handshake
                       : machine_.inData()       ? timeouts.data_block
                       : machine_.helo().empty() ? timeouts.greeting
                                                 : timeouts.command;
  const auto tv = toTimeval(timeout);
  evtimer_add(timer_, &tv);
}

void Session::finish(const std::string& why) {
  if (finished_) return;
  finished_ = true;
  if (connection_reason_.empty()) connection_reason_ = why;
  stage_run_.reset();
  relay_.reset();
  if (transaction_) logTransaction(transaction_->action, decisionReply(transaction_->refusal));
  logConnection();
  // The callback destroys this session and with it on_closed_: run a copy that outlives it.
  const OnClosed on_closed = std::move(on_closed_);
  on_closed(this);
}

void Session::onRead(bufferevent*, void* self) {
  static_cast<Session*>(self)->pump();
}

void Session::onWrite(bufferevent* bev, void* self) {
  auto* session = static_cast<Session*>(self);
  if (session->closing_ && unsentOutput(bev) == 0) session->finish("closed by server");
}

void Session::onEvent(bufferevent*, short what, void* self) {
  auto* session = static_cast<Session*>(self);
  if (what & BEV_EVENT_CONNECTED) {
    evtimer_del(session->timer_);
    auto* ssl = bufferevent_openssl_get_ssl(session->bev_);
    session->tls_description_ = net::describeTls(ssl);
    if (ssl != nullptr) metrics::tlsHandshake(SSL_get_version(ssl));
    if (!session->protocol_started_) {
      session->startProtocol();
    } else {
      session->tls_handshaking_ = false;
      session->drive(session->machine_.tlsEstablished());
    }
    return session->pump();
  }
  if (what & BEV_EVENT_ERROR) {
    const bool tls = bufferevent_openssl_get_ssl(session->bev_) != nullptr;
    if (tls && session->handshaking()) metrics::tlsFailure();
    return session->finish(tls ? "tls error: " + net::lastTlsError() : "connection error");
  }
  if (what & BEV_EVENT_EOF) session->finish("client disconnected");
}

void Session::onTimer(int, short, void* self) {
  auto* session = static_cast<Session*>(self);
  if (session->closing_) return session->flushThenFinish();
  // No reply: a 421 written into an unfinished TLS session could never be delivered.
  if (session->handshaking()) {
    metrics::tlsFailure();
    return session->finish("tls handshake timeout");
  }
  if (session->machine_.waiting()) return;
  session->connection_reason_ = "timeout";
  session->drive(session->machine_.timeout());
}

}  // namespace spamgate::server
