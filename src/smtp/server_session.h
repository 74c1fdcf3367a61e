// The SMTP server protocol as a pure state machine: bytes in, effects out. No sockets, no
// clock, no DNS: the owner (server::Session) executes the effects, runs the pipeline stages the
// machine asks for, and tells it about TLS, timeouts and shutdown.
//
// Flow: start() asks for the Connect stage; its result gives the greeting. receive() frames
// lines and handles commands; a command that needs a policy decision (HELO, MAIL, RCPT, DATA,
// end of data) yields RunStage and the machine waits: bytes fed while it waits are kept and
// handled after resume(). The owner should stop reading while waiting() (back-pressure).
// Replies always come out in command order, so PIPELINING needs nothing more.
//
// Safety properties (RFC 5321, RFC 2920, RFC 3030, RFC 3207):
// - only <CR><LF>.<CR><LF> ends DATA; a bare LF or CR inside a message is normalized into line
//   breaks or rejects the message, per the configured policy, and never reaches the message
//   text as such;
// - bytes a client pipelines after DATA (before 354) or after STARTTLS are never executed;
// - every BDAT chunk is consumed as data, even when the command is refused;
// - every untrusted input is bounded by a named limit with a defined reply.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "smtp/address.h"
#include "smtp/line_reader.h"
#include "smtp/reply.h"

namespace spamgate::smtp {

enum class Stage { Connect, Helo, Mail, Rcpt, Data, EndOfData };
std::string_view stageName(Stage stage);

struct SessionLimits {
  std::size_t command_line = 512;  // octets including CRLF
  std::size_t text_line = 998;     // octets excluding CRLF
  uint64_t message_size = 50ull * 1024 * 1024;
  unsigned recipients = 100;
  unsigned errors = 10;
  unsigned unknown_commands = 5;
};

struct SessionOptions {
  std::string hostname;
  std::string banner = "ESMTP spamgate";
  SessionLimits limits;
  // false: normalize (Postfix 3.9 default): bare CR/LF become line breaks, NUL octets are
  // dropped. true: the message is refused (550 5.5.2 / 550 5.6.0).
  bool reject_bare_linefeed = false;
  bool tls_available = false;  // STARTTLS may be offered
  bool tls_active = false;     // implicit TLS: the session starts encrypted
};

namespace effect {
struct Send {
  Reply reply;
};
struct RunStage {
  Stage stage;
};
struct StartTls {};  // discard unread input, then run the TLS handshake; call tlsEstablished()
struct Close {};
}  // namespace effect

using Effect = std::variant<effect::Send, effect::RunStage, effect::StartTls, effect::Close>;
using Effects = std::vector<Effect>;

// What the pipeline (and, for RCPT and end of data, the relay) decided. For every stage but
// EndOfData an empty reply means "proceed" and the machine sends its own positive reply.
struct StageResult {
  std::optional<Reply> reply;
};

struct Recipient {
  std::string address;
  Reply reply;
  bool accepted = false;
};

struct Transaction {
  bool active = false;  // MAIL accepted
  MailArgs mail;
  std::vector<Recipient> recipients;
  std::string message;  // CRLF lines, dot-unstuffed
  uint64_t size = 0;    // octets received (may exceed message.size() when too big)
  bool chunking = false;
  unsigned accepted() const;
};

class ServerSession {
 public:
  explicit ServerSession(SessionOptions options);

  Effects start();
  Effects receive(std::string_view bytes);
  Effects resume(StageResult result);
  Effects tlsEstablished();
  Effects timeout();           // 421 4.4.2, close
  Effects shutdown();          // 421 4.3.2 now if idle, else once the transaction in flight ends
  Effects abort(Reply reply);  // send `reply` and close, whatever the state

  bool waiting() const { return pending_.has_value(); }
  bool inData() const { return phase_ == Phase::Data || phase_ == Phase::Bdat; }
  bool closed() const { return phase_ == Phase::Closed; }
  bool tlsActive() const { return options_.tls_active; }
  bool esmtp() const { return esmtp_; }
  const std::string& helo() const { return helo_; }
  const Transaction& transaction() const { return transaction_; }
  // The argument of the command under decision (MAIL / RCPT) while waiting().
  const std::string* pendingHelo() const;  // the HELO/EHLO argument under decision
  const MailArgs* pendingMail() const;
  const RcptArgs* pendingRcpt() const;
  // Moves the finished message out during the EndOfData stage.
  std::string takeMessage() { return std::move(transaction_.message); }
  unsigned errors() const { return errors_; }
  // Octets of this transaction's message once it reached its end (DATA or BDAT LAST), kept
  // after the transaction is reset (the size of a message the machine refused itself); 0 from
  // the next MAIL on.
  uint64_t lastMessageSize() const { return last_message_size_; }
  // Input octets received but not handled yet (bounded by the line limits while not waiting).
  std::size_t bufferedInput() const { return reader_.buffered(); }

 private:
  enum class Phase { Connect, Rejected, Command, Data, Bdat, TlsHandshake, Closed };
  struct HeloArgs {
    std::string name;
    bool esmtp = false;
  };
  struct Pending {
    Stage stage;
    std::variant<std::monostate, HeloArgs, MailArgs, RcptArgs> arg;
  };

  void run(Effects& out);
  bool step(Effects& out);
  void onLine(const LineReader::Line& line, Effects& out);
  void onCommand(std::string_view text, Effects& out);
  void dispatch(std::string_view verb_line, Effects& out);
  void onHelo(std::string_view arg, bool esmtp, Effects& out);
  void onMail(std::string_view arg, Effects& out);
  void onRcpt(std::string_view arg, Effects& out);
  void onData(Effects& out);
  void onBdat(std::string_view arg, Effects& out);
  void onStartTls(Effects& out);
  void onDataLine(const LineReader::Line& line, Effects& out);
  void appendMessageLine(std::string_view text);
  void consumeChunk(Effects& out);
  void endOfMessage(Effects& out);
  void finishStage(Pending pending, StageResult result, Effects& out);
  void afterHelo(Pending& pending, const StageResult& result, Effects& out);
  void afterMail(Pending& pending, const StageResult& result, Effects& out);
  void afterRcpt(Pending& pending, const StageResult& result, Effects& out);
  void afterData(const StageResult& result, Effects& out);
  void afterEndOfData(const StageResult& result, Effects& out);
  void record(Recipient recipient);
  void closeIfDrained(Effects& out);
  void ask(Stage stage, Effects& out, decltype(Pending::arg) arg = {});
  void reply(Reply r, Effects& out);
  void error(Reply r, Effects& out);
  void close(Reply r, Effects& out);
  void resetTransaction();
  Reply ehloReply() const;
  bool transactionInFlight() const;

  SessionOptions options_;
  LineReader reader_;
  Phase phase_ = Phase::Connect;
  std::optional<Pending> pending_;
  std::string helo_;
  bool esmtp_ = false;
  Transaction transaction_;
  unsigned errors_ = 0;
  unsigned unknown_commands_ = 0;
  bool draining_ = false;  // shutdown requested: close once no transaction is in flight
  // DATA and BDAT
  bool previous_crlf_ = true;
  bool bare_newline_ = false;
  bool nul_ = false;  // NUL octets were dropped from the message
  uint64_t last_message_size_ = 0;
  bool overlong_line_ = false;
  uint64_t chunk_remaining_ = 0;
  bool chunk_last_ = false;
  std::optional<Reply> chunk_refusal_;  // the chunk is consumed, then refused with this
};

}  // namespace spamgate::smtp
