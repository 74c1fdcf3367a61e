// A whole ServerSession driven by the fuzzer: client bytes in fuzzer-sized writes, stages
// answered (now or later) with fuzzer-chosen replies, timeouts, shutdowns and TLS handshakes
// in between. Invariants: nothing after Close; RunStage ends a batch and leaves the machine
// waiting; every reply is well-formed on the wire; the message handed to the end-of-data stage
// is canonical (every CR followed by LF, every LF preceded by CR) and within the size limit;
// the message and the recipient records stay bounded, and unread input stays within the line
// limits whenever the machine is not waiting.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/server_session.h"

namespace {

using namespace spamgate::smtp;

void check(bool ok) {
  if (!ok) std::abort();
}

bool canonical(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) return false;
    if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) return false;
  }
  return true;
}

// "ddd-..." / "ddd ..." lines, CRLF-terminated, no other CR or LF, the last with a space.
void checkWire(const Reply& reply) {
  check(reply.code >= 200 && reply.code <= 599);
  const std::string wire = reply.wire();
  check(canonical(wire) && wire.ends_with("\r\n"));
  const std::string code = std::to_string(reply.code);
  for (std::size_t at = 0; at < wire.size();) {
    const auto end = wire.find("\r\n", at);
    check(wire.compare(at, 3, code) == 0);
    check(wire[at + 3] == (end + 2 == wire.size() ? ' ' : '-'));
    at = end + 2;
  }
}

SessionOptions options(FuzzedDataProvider& input) {
  SessionOptions o;
  o.hostname = "mx.example";
  o.reject_bare_linefeed = input.ConsumeBool();
  o.tls_available = input.ConsumeBool();
  o.tls_active = input.ConsumeBool();
  auto& l = o.limits;
  l.command_line = input.ConsumeIntegralInRange<std::size_t>(3, 600);
  l.text_line = input.ConsumeIntegralInRange<std::size_t>(1, 1100);
  l.message_size = input.ConsumeIntegralInRange<uint64_t>(0, 5000);
  l.recipients = input.ConsumeIntegralInRange<unsigned>(1, 20);
  l.errors = input.ConsumeIntegralInRange<unsigned>(1, 30);
  l.unknown_commands = input.ConsumeIntegralInRange<unsigned>(1, 10);
  return o;
}

StageResult stageResult(FuzzedDataProvider& input) {
  switch (input.ConsumeIntegralInRange(0, 7)) {
    case 0:
      return {makeReply(250, "2.0.0", "Ok")};
    case 1:
      return {makeReply(450, "4.7.1", "Try later")};
    case 2:
      return {makeReply(550, "5.7.1", "No")};
    case 3:
      return {makeReply(421, "4.7.0", "Closing")};
    case 4:
      return {makeReply(554, "5.7.1", "Bye", true)};
    case 5:
      return {makeReply(550, "5.7.1", "Two\nlines")};
    default:
      return {};  // proceed
  }
}

class Harness {
 public:
  Harness(FuzzedDataProvider& input)
      : input_(input), options_(options(input)), session_(options_) {}

  void run() {
    execute(session_.start());
    while (input_.remaining_bytes() > 0)
      step();  // on past Close: it must stay silent
  }

 private:
  void step() {
    act();
    checkBounds();
  }

  void act() {
    switch (input_.ConsumeIntegralInRange(0, 15)) {
      case 0:
        return execute(session_.timeout());
      case 1:
        return execute(session_.shutdown());
      case 2:
        return execute(session_.tlsEstablished());
      case 3:
        if (session_.waiting()) execute(session_.resume(stageResult(input_)));
        return;
      default: {
        const auto bytes = input_.ConsumeRandomLengthString(2048);
        execute(session_.receive(bytes));
      }
    }
  }

  void execute(Effects effects) {
    for (std::size_t i = 0; i < effects.size(); ++i) {
      check(!closed_);  // nothing at all after Close
      const bool last = i + 1 == effects.size();
      if (auto* send = std::get_if<effect::Send>(&effects[i])) {
        checkWire(send->reply);
      } else if (auto* run = std::get_if<effect::RunStage>(&effects[i])) {
        check(last && session_.waiting());
        onStage(run->stage);
      } else if (std::holds_alternative<effect::Close>(effects[i])) {
        check(last && session_.closed());
        closed_ = true;
      }
    }
  }

  void onStage(Stage stage) {
    if (stage == Stage::EndOfData) {
      const std::string message = session_.takeMessage();
      check(canonical(message));
      check(message.size() <= 2 * options_.limits.message_size + 2);  // BDAT: bare LF -> CRLF
    }
    if (input_.ConsumeIntegralInRange(0, 3) == 0) return;  // answered later, or never
    auto result = stageResult(input_);
    if (stage == Stage::EndOfData && !result.reply) result.reply = makeReply(250, "2.0.0", "Ok");
    execute(session_.resume(std::move(result)));
  }

  // Memory bounds that must hold after every step, whatever the client sends.
  void checkBounds() {
    const auto& l = options_.limits;
    const auto& transaction = session_.transaction();
    check(transaction.message.size() <= 2 * l.message_size + 2);
    check(transaction.recipients.size() <= 2 * std::size_t{l.recipients});
    if (closed_ || session_.waiting()) return;
    check(session_.bufferedInput() <= std::max(l.command_line - 1, l.text_line + 2));
  }

  FuzzedDataProvider& input_;
  SessionOptions options_;
  ServerSession session_;
  bool closed_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  Harness(input).run();
  return 0;
}
