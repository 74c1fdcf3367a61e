// One connection to the SMTP backend (TCP, then TLS through bufferevent_openssl after
// STARTTLS) driving a ClientSession: the I/O glue of the SMTP relay, no protocol logic.
//
// Contract:
// - open() starts a non-blocking connect (TCP_NODELAY on) and returns at once; nothing is
//   reported inline, a failure to even start connecting is reported from the loop.
// - The listener hears the session's Reply events, in order, and at most one failure. After
//   onBackendFailure() the connection is gone: the listener must drop its pointer and not call
//   it again (release() included).
// - Deadlines: connect_timeout for the TCP connect; command_timeout for the greeting, each
//   reply and the TLS handshake; data_timeout for the reply to the end of the message. The
//   timer runs only while a reply is awaited: an idle session waits for the client.
// - release(): the listener goes away. A ready session is ended politely (RSET, QUIT, and a
//   DATA still waiting for 354 is aborted by closing); otherwise the socket is closed. The
//   object frees itself when done; no listener call happens afterwards. closeLingering()
//   (from the Relay's destructor) closes those still at it.
// - TLS: encryption only, no certificate verification, for `opportunistic` and `required`
//   alike (Postfix's "may" and "encrypt" levels); the SSL_CTX comes from the BackendContext.
//
// Hazards: a listener callback may release() (or destroy the listener, which releases); the
// connection defers its own deletion until its libevent callback unwinds.
#pragma once

#include <sys/socket.h>

#include <memory>
#include <string>
#include <unordered_set>

#include "config/config.h"
#include "relay/client_session.h"
#include "relay/relay.h"

struct bufferevent;
struct event;
struct event_base;
struct ssl_ctx_st;

namespace spamgate::relay {

class BackendConnection;

// What every connection of one Relay shares; immutable once built but for `lingering`.
struct BackendContext {
  BackendContext() = default;
  ~BackendContext();
  BackendContext(const BackendContext&) = delete;
  BackendContext& operator=(const BackendContext&) = delete;

  event_base* base = nullptr;
  config::Snapshot config;
  std::string helo_name;
  std::string address_text;  // for log details: "127.0.0.1:25"
  sockaddr_storage address{};
  socklen_t address_len = 0;      // 0: the configured address does not parse
  ssl_ctx_st* ssl_ctx = nullptr;  // owned; null when TLS is off or could not be set up
  // Connections released by their transaction, still ending their session (loop thread only).
  std::unordered_set<BackendConnection*> lingering;
};

// Builds the shared context: parses the backend address, creates the client SSL_CTX once.
std::shared_ptr<BackendContext> makeBackendContext(event_base* base, config::Snapshot config);

struct Failure {
  bool setup = false;  // the session never became ready: unreachable or refused
  bool timeout = false;
  bool unexpected = false;    // the backend broke the protocol
  bool message_sent = false;  // the message (or part of it) went out on this connection
  smtp::Reply reply;          // the backend reply that ended the session, if any
  std::string detail;         // for the log
};

class BackendConnection {
 public:
  class Listener {
   public:
    virtual void onBackendReply(const Event& event) = 0;
    virtual void onBackendFailure(const Failure& failure) = 0;

   protected:
    virtual ~Listener() = default;
  };

  static BackendConnection* open(std::shared_ptr<BackendContext> context, const ClientInfo& client,
                                 Listener* listener);
  // Closes the released connections still ending their session (the Relay goes away).
  static void closeLingering(BackendContext& context);

  ClientSession& session() { return session_; }
  // Writes what the session queued and re-arms the reply deadline.
  void flush();
  void release();

 private:
  BackendConnection(std::shared_ptr<BackendContext> context, const ClientInfo& client,
                    Listener* listener);
  ~BackendConnection();
  BackendConnection(const BackendConnection&) = delete;
  BackendConnection& operator=(const BackendConnection&) = delete;

  static void onReadCb(bufferevent* bev, void* self);
  static void onEventCb(bufferevent* bev, short what, void* self);
  static void onTimerCb(int fd, short what, void* self);

  void connect();
  void onRead();
  void onEvent(short what);
  void onTimer();
  void handle(const Event& event);
  void startTls();
  void fail(Failure failure);
  void finish();
  void writeOutput();
  void rearm();
  void arm(config::Seconds timeout);
  std::string errorText(short what) const;
  void enter() { ++depth_; }
  void leave();  // may delete this: the last thing a callback does

  std::shared_ptr<BackendContext> context_;
  ClientSession session_;
  Listener* listener_;
  bufferevent* bev_ = nullptr;
  event* timer_ = nullptr;
  std::string pending_error_;  // connect could not start: reported by the timer
  bool connected_ = false;
  bool handshaking_ = false;
  bool closed_ = false;
  bool doomed_ = false;
  int depth_ = 0;
};

}  // namespace spamgate::relay
