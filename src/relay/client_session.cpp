#include "relay/client_session.h"

#include <utility>

namespace spamgate::relay {

namespace {

int klass(const smtp::Reply& reply) {
  return reply.code / 100;
}

}  // namespace

const char* ClientSession::wireName(Wire wire) {
  switch (wire) {
    case Wire::Xforward:
      return "XFORWARD";
    case Wire::Mail:
      return "MAIL";
    case Wire::Rcpt:
      return "RCPT";
    case Wire::Data:
      return "DATA";
    case Wire::Dot:
      return "end of data";
    case Wire::Rset:
      return "RSET";
    case Wire::Quit:
      return "QUIT";
  }
  return "?";
}

ClientSession::ClientSession(SessionOptions options) : options_(std::move(options)) {}

std::vector<Event> ClientSession::receive(std::string_view bytes) {
  std::vector<Event> events;
  while (!bytes.empty() && !finished()) {
    if (state_ == State::TlsHandshake) {
      // Plaintext after "220 ready for TLS" would be taken as TLS-protected (CVE-2011-0411).
      if (!events.empty() && events.back().type == Event::Type::StartTls) events.pop_back();
      fail(events, "backend sent data after its STARTTLS reply", {}, true);
      break;
    }
    ReplyParser::Status status = parser_.feed(bytes);
    if (status == ReplyParser::Status::Error) {
      fail(events, "backend protocol error: " + parser_.error(), {}, true);
      break;
    }
    if (status == ReplyParser::Status::NeedMore) break;
    onReply(parser_.take(), events);
  }
  return events;
}

void ClientSession::onReply(const smtp::Reply& reply, std::vector<Event>& events) {
  if (state_ == State::Ready) {
    onCommandReply(reply, events);
  } else {
    onSetupReply(reply, events);
  }
}

void ClientSession::onSetupReply(const smtp::Reply& reply, std::vector<Event>& events) {
  switch (state_) {
    case State::Greeting:
      onGreeting(reply, events);
      return;
    case State::Ehlo:
    case State::Helo:
    case State::EhloAfterTls:
    case State::EhloAfterXclient:
      onEhlo(reply, events);
      return;
    case State::StartTls:
      onStartTls(reply, events);
      return;
    case State::Xclient:
      onXclient(reply, events);
      return;
    case State::TlsHandshake:
    case State::Ready:
    case State::Failed:
    case State::Closed:
      break;
  }
  fail(events, "backend reply out of turn: " + reply.summary(), reply, true);
}

void ClientSession::onGreeting(const smtp::Reply& reply, std::vector<Event>& events) {
  if (reply.code != 220) {
    fail(events, "backend greeting: " + reply.summary(), reply);
    return;
  }
  send("EHLO " + options_.helo_name + "\r\n", State::Ehlo);
}

void ClientSession::onEhlo(const smtp::Reply& reply, std::vector<Event>& events) {
  State was = state_;
  if (was == State::Ehlo && klass(reply) == 5) {
    send("HELO " + options_.helo_name + "\r\n", State::Helo);  // RFC 5321 3.2
    return;
  }
  if (klass(reply) != 2) {
    fail(events, std::string(was == State::Helo ? "HELO" : "EHLO") + ": " + reply.summary(), reply);
    return;
  }
  caps_ = was == State::Helo ? Capabilities{} : parseCapabilities(reply);
  if (was == State::EhloAfterXclient) {
    becomeReady(events);
  } else if (was == State::EhloAfterTls) {
    afterTls(events);
  } else {
    afterEhlo(events);
  }
}

void ClientSession::afterEhlo(std::vector<Event>& events) {
  if (options_.tls != config::BackendTls::None && !tls_active_) {
    if (caps_.starttls) {
      send("STARTTLS\r\n", State::StartTls);
      return;
    }
    if (options_.tls == config::BackendTls::Required) {
      fail(events, "backend does not offer STARTTLS and TLS is required");
      return;
    }
  }
  afterTls(events);
}

void ClientSession::onStartTls(const smtp::Reply& reply, std::vector<Event>& events) {
  if (reply.code == 220) {
    state_ = State::TlsHandshake;
    events.push_back(Event{Event::Type::StartTls, Command::Mail, {}, false, {}});
    return;
  }
  if (options_.tls == config::BackendTls::Required || reply.code == 421) {
    fail(events, "STARTTLS: " + reply.summary(), reply);
    return;
  }
  afterTls(events);  // opportunistic: carry on in plaintext
}

void ClientSession::tlsEstablished() {
  if (state_ != State::TlsHandshake) return;
  tls_active_ = true;
  send("EHLO " + options_.helo_name + "\r\n", State::EhloAfterTls);  // RFC 3207 4.2
}

void ClientSession::afterTls(std::vector<Event>& events) {
  if (options_.forward == config::ForwardClient::Xclient) {
    std::string line = xclientCommand(options_.client, caps_);
    if (!line.empty()) {
      send(std::move(line), State::Xclient);
      return;
    }
  }
  becomeReady(events);
}

void ClientSession::onXclient(const smtp::Reply& reply, std::vector<Event>& events) {
  if (klass(reply) != 2) {
    fail(events, "XCLIENT: " + reply.summary(), reply);
    return;
  }
  send("EHLO " + options_.helo_name + "\r\n", State::EhloAfterXclient);
}

void ClientSession::becomeReady(std::vector<Event>& events) {
  state_ = State::Ready;
  was_ready_ = true;
  events.push_back(Event{Event::Type::Ready, Command::Mail, {}, false, {}});
  pump();
}

void ClientSession::onCommandReply(const smtp::Reply& reply, std::vector<Event>& events) {
  if (inflight_.empty()) {
    fail(events, "backend reply without a command: " + reply.summary(), reply, true);
    return;
  }
  Wire wire = inflight_.front();
  inflight_.pop_front();
  if (reply.code == 421 && wire != Wire::Quit) {
    fail(events, "backend closing: " + reply.summary(), reply);
    return;
  }
  if (reply.code / 100 == 3 && wire != Wire::Data) {
    // The backend now reads our lines as message text: the session cannot go on.
    fail(events, "unexpected reply to " + std::string(wireName(wire)) + ": " + reply.summary(),
         reply, true);
    return;
  }
  switch (wire) {
    case Wire::Xforward:
      if (klass(reply) != 2 && !xforward_error_) xforward_error_ = reply;
      break;
    case Wire::Mail:
      accepted_rcpts_ = 0;
      if (xforward_error_) {
        emitReply(Command::Mail, *xforward_error_, true, events);
        xforward_error_.reset();
      } else {
        emitReply(Command::Mail, reply, false, events);
      }
      break;
    case Wire::Rcpt:
      if (klass(reply) == 2) ++accepted_rcpts_;
      emitReply(Command::Rcpt, reply, false, events);
      break;
    case Wire::Data:
      onDataReply(reply, events);
      break;
    case Wire::Dot:
      onDotReply(reply, events);
      break;
    case Wire::Rset:
      emitReply(Command::Rset, reply, klass(reply) != 2, events);
      break;
    case Wire::Quit:
      state_ = State::Closed;
      events.push_back(Event{Event::Type::Closed, Command::Quit, reply, false, {}});
      return;
  }
  pump();
}

void ClientSession::onDataReply(const smtp::Reply& reply, std::vector<Event>& events) {
  if (klass(reply) == 4 || klass(reply) == 5) {
    message_.reset();
    emitReply(Command::Data, reply, false, events);
    return;
  }
  if (reply.code != 354) {
    fail(events, "unexpected reply to DATA: " + reply.summary(), reply, true);
    return;
  }
  if (abandoned_ || !message_) {
    fail(events, "transaction abandoned before the message was sent", reply);
    return;
  }
  message_sent_ = true;
  if (accepted_rcpts_ == 0) {
    output_ += ".\r\n";  // RFC 2920 3.1: no recipient, yet 354: send an empty message
    empty_data_ = true;
  } else {
    appendDotStuffed(output_, *message_);
  }
  message_.reset();
  inflight_.push_back(Wire::Dot);  // DATA ended the group: nothing else is in flight
}

void ClientSession::onDotReply(const smtp::Reply& reply, std::vector<Event>& events) {
  accepted_rcpts_ = 0;
  if (empty_data_) {
    empty_data_ = false;
    Event event{Event::Type::Reply, Command::Data,
                smtp::makeReply(554, "5.5.1", "Error: no valid recipients"), false,
                "no recipient accepted; backend said " + reply.summary()};
    events.push_back(std::move(event));
    return;
  }
  emitReply(Command::Data, reply, false, events);
}

void ClientSession::emitReply(Command command, const smtp::Reply& reply, bool unexpected,
                              std::vector<Event>& events) {
  events.push_back(Event{Event::Type::Reply, command, reply, unexpected, {}});
}

void ClientSession::fail(std::vector<Event>& events, std::string detail, const smtp::Reply& reply,
                         bool unexpected) {
  state_ = State::Failed;
  output_.clear();
  queued_.clear();
  inflight_.clear();
  message_.reset();
  events.push_back(Event{Event::Type::Failed, Command::Mail, reply, unexpected, std::move(detail)});
}

void ClientSession::send(std::string line, State next) {
  output_ += line;
  state_ = next;
}

void ClientSession::mail(std::string_view reverse_path, std::string_view params,
                         std::optional<uint64_t> size) {
  if (finished()) return;
  queued_.push_back(Queued{Wire::Mail, {}, std::string(reverse_path), std::string(params), size});
  pump();
}

void ClientSession::rcpt(std::string_view forward_path, std::string_view params) {
  if (finished()) return;
  queued_.push_back(Queued{Wire::Rcpt, rcptCommand(forward_path, params), {}, {}, {}});
  pump();
}

void ClientSession::data(std::shared_ptr<const std::string> message) {
  if (finished()) return;
  message_ = std::move(message);
  queued_.push_back(Queued{Wire::Data, "DATA\r\n", {}, {}, {}});
  pump();
}

void ClientSession::rset() {
  if (finished()) return;
  queued_.push_back(Queued{Wire::Rset, "RSET\r\n", {}, {}, {}});
  pump();
}

void ClientSession::quit() {
  if (finished()) return;
  queued_.push_back(Queued{Wire::Quit, "QUIT\r\n", {}, {}, {}});
  pump();
}

void ClientSession::abandon() {
  if (finished() || abandoned_) return;
  abandoned_ = true;
  queued_.clear();
  message_.reset();
  if (state_ != State::Ready) return;  // the owner just closes
  rset();
  quit();
}

bool ClientSession::mayPipeline() const {
  if (!caps_.pipelining) return false;
  Wire last = inflight_.back();
  return last != Wire::Data && last != Wire::Dot && last != Wire::Quit;
}

void ClientSession::pump() {
  if (state_ != State::Ready) return;
  while (!queued_.empty()) {
    if (!inflight_.empty() && !mayPipeline()) return;
    Queued& head = queued_.front();
    if (head.wire == Wire::Mail && head.line.empty()) {
      head.line = mailCommand(head.path, head.params, head.size, caps_);
      if (options_.forward == config::ForwardClient::Xforward) {
        auto lines = xforwardCommands(options_.client, caps_);
        for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
          queued_.push_front(Queued{Wire::Xforward, std::move(*it), {}, {}, {}});
        }
        continue;
      }
    }
    output_ += head.line;
    inflight_.push_back(head.wire);
    queued_.pop_front();
  }
}

std::string ClientSession::takeOutput() {
  return std::exchange(output_, std::string{});
}

ClientSession::Wait ClientSession::waiting() const {
  switch (state_) {
    case State::Ready:
      if (inflight_.empty()) return Wait::None;
      return inflight_.front() == Wire::Dot ? Wait::Data : Wait::Command;
    case State::Failed:
    case State::Closed:
      return Wait::None;
    default:
      return Wait::Command;
  }
}

}  // namespace spamgate::relay
