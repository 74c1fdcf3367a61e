#include "relay/backend_connection.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace spamgate::relay {

namespace {

bool parseAddress(const config::Endpoint& endpoint, sockaddr_storage& out, socklen_t& len) {
  out = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (inet_pton(AF_INET, endpoint.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(endpoint.port);
    len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET6, endpoint.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(endpoint.port);
    len = sizeof(sockaddr_in6);
    return true;
  }
  len = 0;
  return false;
}

// Encryption without authentication: no verification, as Postfix's "may"/"encrypt" levels.
SSL_CTX* makeClientTlsContext() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  return ctx;
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

std::string endpointText(const config::Endpoint& e) {
  bool v6 = e.host.find(':') != std::string::npos;
  return (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}

}  // namespace

BackendContext::~BackendContext() {
  SSL_CTX_free(ssl_ctx);
}

std::shared_ptr<BackendContext> makeBackendContext(event_base* base, config::Snapshot config) {
  auto context = std::make_shared<BackendContext>();
  const config::Backend& backend = config->backend;
  context->base = base;
  context->helo_name = !backend.helo_name.empty()         ? backend.helo_name
                       : !config->server.hostname.empty() ? config->server.hostname
                                                          : hostname();
  context->address_text = endpointText(backend.address);
  parseAddress(backend.address, context->address, context->address_len);
  if (backend.tls != config::BackendTls::None) context->ssl_ctx = makeClientTlsContext();
  context->config = std::move(config);
  return context;
}

BackendConnection* BackendConnection::open(std::shared_ptr<BackendContext> context,
                                           const ClientInfo& client, Listener* listener) {
  // Owns itself: it may outlive its listener to end the session with RSET/QUIT.
  auto* connection = new BackendConnection(std::move(context), client, listener);
  connection->connect();
  return connection;
}

BackendConnection::BackendConnection(std::shared_ptr<BackendContext> context,
                                     const ClientInfo& client, Listener* listener)
    : context_(std::move(context)),
      session_(SessionOptions{context_->helo_name, context_->config->backend.tls,
                              context_->config->backend.forward_client, client}),
      listener_(listener) {}

BackendConnection::~BackendConnection() {
  context_->lingering.erase(this);
  if (bev_ != nullptr) bufferevent_free(bev_);
  if (timer_ != nullptr) event_free(timer_);
}

void BackendConnection::connect() {
  timer_ = evtimer_new(context_->base, &BackendConnection::onTimerCb, this);
  const auto& address = context_->address;
  if (context_->address_len == 0) {
    pending_error_ = "backend address " + context_->address_text + " is not numeric";
  } else {
    bev_ = bufferevent_socket_new(context_->base, -1, BEV_OPT_CLOSE_ON_FREE);
  }
  if (bev_ != nullptr) {
    bufferevent_setcb(bev_, &BackendConnection::onReadCb, nullptr, &BackendConnection::onEventCb,
                      this);
    bufferevent_enable(bev_, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(bev_, reinterpret_cast<const sockaddr*>(&address),
                                   static_cast<int>(context_->address_len)) != 0) {
      pending_error_ = "connect to " + context_->address_text + ": " + std::strerror(errno);
    }
  } else if (pending_error_.empty()) {
    pending_error_ = "cannot create a socket: " + std::string(std::strerror(errno));
  }
  if (!pending_error_.empty()) {
    arm(config::Seconds{0});  // report from the loop, never inline
    return;
  }
  int one = 1;
  setsockopt(bufferevent_getfd(bev_), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  arm(context_->config->backend.connect_timeout);
}

void BackendConnection::onReadCb(bufferevent*, void* self) {
  auto* connection = static_cast<BackendConnection*>(self);
  connection->enter();
  connection->onRead();
  connection->leave();
}

void BackendConnection::onEventCb(bufferevent*, short what, void* self) {
  auto* connection = static_cast<BackendConnection*>(self);
  connection->enter();
  connection->onEvent(what);
  connection->leave();
}

void BackendConnection::onTimerCb(int, short, void* self) {
  auto* connection = static_cast<BackendConnection*>(self);
  connection->enter();
  connection->onTimer();
  connection->leave();
}

void BackendConnection::leave() {
  if (--depth_ == 0 && doomed_) delete this;
}

void BackendConnection::onRead() {
  if (closed_) return;
  evbuffer* input = bufferevent_get_input(bev_);
  std::size_t length = evbuffer_get_length(input);
  std::string chunk(length, '\0');
  evbuffer_remove(input, chunk.data(), length);
  std::vector<Event> events = session_.receive(chunk);
  for (const Event& event : events) {
    handle(event);
    if (closed_) return;
  }
  writeOutput();
  rearm();
}

void BackendConnection::handle(const Event& event) {
  switch (event.type) {
    case Event::Type::Ready:
      return;
    case Event::Type::StartTls:
      startTls();
      return;
    case Event::Type::Reply:
      if (listener_ != nullptr) listener_->onBackendReply(event);
      return;
    case Event::Type::Failed:
      fail(Failure{!session_.wasReady(), false, event.unexpected, session_.messageSent(),
                   event.reply, event.detail});
      return;
    case Event::Type::Closed:
      finish();
      return;
  }
}

void BackendConnection::onEvent(short what) {
  if (closed_) return;
  if ((what & BEV_EVENT_CONNECTED) != 0) {
    if (handshaking_) {
      handshaking_ = false;
      session_.tlsEstablished();
      writeOutput();
    }
    connected_ = true;
    rearm();  // now the greeting (or the EHLO reply after TLS) is due
    return;
  }
  if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) == 0) return;
  Failure failure;
  failure.setup = !session_.wasReady();
  failure.message_sent = session_.messageSent();
  failure.detail = errorText(what);
  fail(std::move(failure));
}

std::string BackendConnection::errorText(short what) const {
  std::string where = "backend " + context_->address_text + ": ";
  if (!connected_) where += "connect: ";
  if (handshaking_) where += "TLS handshake: ";
  unsigned long ssl_error = bufferevent_get_openssl_error(bev_);
  if (ssl_error != 0) {
    char buf[256];
    ERR_error_string_n(ssl_error, buf, sizeof buf);
    return where + buf;
  }
  if ((what & BEV_EVENT_EOF) != 0) return where + "connection closed by the backend";
  int error = EVUTIL_SOCKET_ERROR();
  return where + (error != 0 ? evutil_socket_error_to_string(error) : "connection error");
}

void BackendConnection::onTimer() {
  if (closed_) return;
  Failure failure;
  failure.setup = !session_.wasReady();
  failure.message_sent = session_.messageSent();
  if (!pending_error_.empty()) {
    failure.detail = pending_error_;
  } else {
    failure.timeout = true;
    const char* what = !connected_                                       ? "connecting"
                       : handshaking_                                    ? "the TLS handshake"
                       : session_.waiting() == ClientSession::Wait::Data ? "the end-of-data reply"
                                                                         : "a reply";
    failure.detail = "backend " + context_->address_text + ": timeout waiting for " + what;
  }
  fail(std::move(failure));
}

void BackendConnection::startTls() {
  SSL* ssl = context_->ssl_ctx != nullptr ? SSL_new(context_->ssl_ctx) : nullptr;
  bufferevent* filter = nullptr;
  if (ssl != nullptr) {
    filter = bufferevent_openssl_filter_new(context_->base, bev_, ssl, BUFFEREVENT_SSL_CONNECTING,
                                            BEV_OPT_CLOSE_ON_FREE);
    if (filter == nullptr) SSL_free(ssl);
  }
  if (filter == nullptr) {
    fail(Failure{true, false, false, false, {}, "backend STARTTLS: no TLS client context"});
    return;
  }
  bev_ = filter;  // owns the socket bufferevent now
  bufferevent_openssl_set_allow_dirty_shutdown(bev_, 1);
  bufferevent_setcb(bev_, &BackendConnection::onReadCb, nullptr, &BackendConnection::onEventCb,
                    this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  handshaking_ = true;
}

void BackendConnection::fail(Failure failure) {
  if (closed_) return;
  finish();
  Listener* listener = std::exchange(listener_, nullptr);
  if (listener != nullptr) listener->onBackendFailure(failure);
}

void BackendConnection::finish() {
  closed_ = true;
  doomed_ = true;
  if (bev_ != nullptr) bufferevent_free(bev_);
  bev_ = nullptr;
  evtimer_del(timer_);
}

void BackendConnection::flush() {
  enter();
  writeOutput();
  leave();
}

void BackendConnection::writeOutput() {
  if (closed_) return;
  std::string out = session_.takeOutput();
  if (out.empty()) return;
  bufferevent_write(bev_, out.data(), out.size());
  rearm();
}

void BackendConnection::rearm() {
  if (closed_ || !connected_) return;  // the connect deadline stays as it was armed
  const config::Backend& backend = context_->config->backend;
  switch (session_.waiting()) {
    case ClientSession::Wait::None:
      evtimer_del(timer_);
      return;
    case ClientSession::Wait::Command:
      arm(backend.command_timeout);
      return;
    case ClientSession::Wait::Data:
      arm(backend.data_timeout);
      return;
  }
}

void BackendConnection::arm(config::Seconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count()), 0};
  evtimer_add(timer_, &tv);
}

void BackendConnection::release() {
  enter();
  listener_ = nullptr;
  if (!closed_) {
    if (connected_ && session_.ready()) {
      session_.abandon();  // RSET + QUIT; a pending 354 now fails the session
      writeOutput();
    } else {
      finish();
    }
  }
  doomed_ = doomed_ || closed_;
  if (!doomed_) context_->lingering.insert(this);
  leave();
}

void BackendConnection::closeLingering(BackendContext& context) {
  auto lingering = context.lingering;  // each one erases itself
  for (BackendConnection* connection : lingering) {
    connection->enter();
    connection->finish();
    connection->leave();
  }
}

}  // namespace spamgate::relay
