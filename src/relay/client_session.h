// The SMTP client that talks to the backend MTA: a pure state machine (no sockets, no clock).
// The owner feeds it the backend's bytes with receive(), which returns events; it queues
// commands with mail()/rcpt()/data()/rset()/quit() and writes what takeOutput() returns.
//
// Session setup, before any queued command is sent:
//   greeting 220 (anything else, 421/554 included: Failed)
//   -> EHLO (a 5xx reply: HELO instead) -> capabilities
//   -> STARTTLS per options.tls when offered: on its 220 the StartTls event tells the owner to
//      start TLS on the connection and call tlsEstablished(); then EHLO again. Required and not
//      offered, or refused: Failed. Opportunistic and not offered or refused: plaintext.
//   -> XCLIENT (options.forward == Xclient, attributes the server advertised); after its
//      positive reply (220 from Postfix) EHLO again
//   -> Ready event; queued commands go out.
// XFORWARD (options.forward == Xforward) goes before every MAIL: Postfix resets the attributes
// after each transaction.
//
// Pipelining: when the server offered PIPELINING, MAIL/RCPT/DATA (and RSET/QUIT) go out back
// to back; DATA and the end of the message end a group (RFC 2920 3.1): nothing follows them
// until their reply. Replies are matched to commands in order. Without PIPELINING one command
// at a time. On 354 the message goes out dot-stuffed with CRLF.CRLF.
//
// Events: one Reply per queued command (Data: the reply to the end of the message, or the
// reply to DATA when that was not 354), in queue order. `unexpected` on a Reply: the command
// was answered, but something it depends on failed (a refused XFORWARD before MAIL); the owner
// maps it to a generic tempfail. Failed ends the session (the owner closes the connection):
// setup failures, a 421 at any point, garbage, a reply nothing asked for, a reply the command
// does not allow (3xx to anything but DATA, 2xx to DATA: `unexpected` set), or bytes after the
// STARTTLS 220 (response injection). After Failed or Closed (the reply to QUIT) receive()
// returns nothing and no output is produced.
//
// Hazards: data() keeps a reference to the message until 354; the message must be CRLF text.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "relay/commands.h"
#include "relay/relay.h"
#include "relay/reply_parser.h"
#include "smtp/reply.h"

namespace spamgate::relay {

struct SessionOptions {
  std::string helo_name;
  config::BackendTls tls = config::BackendTls::None;
  config::ForwardClient forward = config::ForwardClient::None;
  ClientInfo client;  // for XCLIENT / XFORWARD
};

enum class Command { Mail, Rcpt, Data, Rset, Quit };

struct Event {
  enum class Type { Ready, StartTls, Reply, Failed, Closed };
  Type type = Type::Reply;
  Command command = Command::Mail;  // Reply: which command this answers
  smtp::Reply reply;                // Reply; Failed: the reply that caused it (code 0: none)
  bool unexpected = false;          // Reply and Failed: a protocol error rather than an answer
  std::string detail;               // Failed: why, for the log
};

class ClientSession {
 public:
  enum class Wait { None, Command, Data };  // what the owner's timer should wait for

  explicit ClientSession(SessionOptions options);

  std::vector<Event> receive(std::string_view bytes);
  // After the StartTls event, once the TLS handshake completed: sends EHLO again.
  void tlsEstablished();

  // Queue commands; they go out after setup, pipelined when the server allows it.
  // `size`: the SIZE= value, sent when the server offered SIZE.
  void mail(std::string_view reverse_path, std::string_view params, std::optional<uint64_t> size);
  void rcpt(std::string_view forward_path, std::string_view params);
  void data(std::shared_ptr<const std::string> message);
  void rset();
  void quit();
  // The owner gives up: unsent commands are dropped, RSET and QUIT queued (when ready), and a
  // later 354 fails the session instead of sending the message (closing the connection is the
  // only way to abort DATA).
  void abandon();

  std::string takeOutput();

  Wait waiting() const;
  bool ready() const { return state_ == State::Ready; }
  bool wasReady() const { return was_ready_; }
  bool finished() const { return state_ == State::Failed || state_ == State::Closed; }
  bool tlsActive() const { return tls_active_; }
  const Capabilities& capabilities() const { return caps_; }
  // The message went out (354 seen) on this session.
  bool messageSent() const { return message_sent_; }

 private:
  enum class State {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    TlsHandshake,
    EhloAfterTls,
    Xclient,
    EhloAfterXclient,
    Ready,
    Failed,
    Closed
  };
  enum class Wire { Xforward, Mail, Rcpt, Data, Dot, Rset, Quit };
  struct Queued {
    Wire wire;
    std::string line;  // MAIL: built when sent (XFORWARD must go first)
    std::string path, params;
    std::optional<uint64_t> size;
  };

  static const char* wireName(Wire wire);
  void onReply(const smtp::Reply& reply, std::vector<Event>& events);
  void onSetupReply(const smtp::Reply& reply, std::vector<Event>& events);
  void onGreeting(const smtp::Reply& reply, std::vector<Event>& events);
  void onEhlo(const smtp::Reply& reply, std::vector<Event>& events);
  void onStartTls(const smtp::Reply& reply, std::vector<Event>& events);
  void onXclient(const smtp::Reply& reply, std::vector<Event>& events);
  void afterEhlo(std::vector<Event>& events);
  void afterTls(std::vector<Event>& events);
  void becomeReady(std::vector<Event>& events);
  void onCommandReply(const smtp::Reply& reply, std::vector<Event>& events);
  void onDataReply(const smtp::Reply& reply, std::vector<Event>& events);
  void onDotReply(const smtp::Reply& reply, std::vector<Event>& events);
  void emitReply(Command command, const smtp::Reply& reply, bool unexpected,
                 std::vector<Event>& events);
  void fail(std::vector<Event>& events, std::string detail, const smtp::Reply& reply = {},
            bool unexpected = false);
  void send(std::string line, State next);
  void pump();
  bool mayPipeline() const;

  SessionOptions options_;
  State state_ = State::Greeting;
  bool was_ready_ = false;
  bool tls_active_ = false;
  bool abandoned_ = false;
  bool message_sent_ = false;
  Capabilities caps_;
  ReplyParser parser_;
  std::string output_;
  std::deque<Queued> queued_;
  std::deque<Wire> inflight_;
  std::shared_ptr<const std::string> message_;
  unsigned accepted_rcpts_ = 0;
  bool empty_data_ = false;  // 354 with no accepted recipient: sent a lone "."
  std::optional<smtp::Reply> xforward_error_;
};

}  // namespace spamgate::relay
