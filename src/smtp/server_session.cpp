#include "smtp/server_session.h"

#include <algorithm>
#include <charconv>

#include "smtp/command.h"

namespace spamgate::smtp {

namespace {

constexpr std::string_view kHelp =
    "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS";

struct BdatArgs {
  uint64_t size = 0;
  bool last = false;
};

std::optional<BdatArgs> parseBdat(std::string_view arg) {
  BdatArgs args;
  const auto space = arg.find(' ');
  const auto number = arg.substr(0, space);
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), args.size);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size()) {
    return std::nullopt;
  }
  if (space != std::string_view::npos) {
    if (!equalsIgnoreCase(trim(arg.substr(space)), "LAST")) return std::nullopt;
    args.last = true;
  }
  return args;
}

// Re-encodes a BDAT message as CRLF lines, the way DATA content is normalized.
// The same rules as DATA content: bare CR and LF become line breaks, NUL octets are dropped,
// and what was found is reported for the configured policy.
struct Canonical {
  std::string text;
  bool bare_newline = false;
  bool nul = false;
  std::size_t longest_line = 0;
};

Canonical canonicalLines(std::string_view raw) {
  Canonical out;
  out.text.reserve(raw.size() + 2);
  std::size_t line_start = 0;
  auto endLine = [&out, &line_start] {
    out.longest_line = std::max(out.longest_line, out.text.size() - line_start);
    out.text += "\r\n";
    line_start = out.text.size();
  };
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') {
      endLine();
      ++i;
    } else if (c == '\r' || c == '\n') {
      out.bare_newline = true;
      endLine();
    } else if (c == '\0') {
      out.nul = true;
    } else {
      out.text += c;
    }
  }
  if (out.text.size() > line_start) endLine();
  return out;
}

// Appends `piece` without its NUL octets; returns whether there were any.
bool appendWithoutNul(std::string& out, std::string_view piece) {
  if (piece.find('\0') == std::string_view::npos) {
    out.append(piece);
    return false;
  }
  for (char c : piece) {
    if (c != '\0') out += c;
  }
  return true;
}

// size + more <= limit, without the wrap-around a peer-chosen 64-bit `more` could cause.
bool fitsMessage(uint64_t size, uint64_t more, uint64_t limit) {
  return size <= limit && more <= limit - size;
}

}  // namespace

std::string_view stageName(Stage stage) {
  switch (stage) {
    case Stage::Connect:
      return "connect";
    case Stage::Helo:
      return "helo";
    case Stage::Mail:
      return "mail";
    case Stage::Rcpt:
      return "rcpt";
    case Stage::Data:
      return "data";
    case Stage::EndOfData:
      return "end_of_data";
  }
  return "unknown";
}

unsigned Transaction::accepted() const {
  unsigned n = 0;
  for (const auto& r : recipients)
    n += r.accepted ? 1u : 0u;
  return n;
}

ServerSession::ServerSession(SessionOptions options) : options_(std::move(options)) {}

Effects ServerSession::start() {
  Effects out;
  ask(Stage::Connect, out);
  return out;
}

Effects ServerSession::receive(std::string_view bytes) {
  Effects out;
  if (phase_ == Phase::Closed || phase_ == Phase::TlsHandshake) return out;
  reader_.append(bytes);
  run(out);
  return out;
}

Effects ServerSession::resume(StageResult result) {
  Effects out;
  if (!pending_ || phase_ == Phase::Closed) return out;
  Pending pending = std::move(*pending_);
  pending_.reset();
  finishStage(std::move(pending), std::move(result), out);
  run(out);
  return out;
}

Effects ServerSession::tlsEstablished() {
  Effects out;
  if (phase_ != Phase::TlsHandshake) return out;
  options_.tls_active = true;
  helo_.clear();
  esmtp_ = false;
  resetTransaction();
  reader_.clear();
  phase_ = Phase::Command;
  return out;
}

Effects ServerSession::timeout() {
  Effects out;
  if (phase_ != Phase::Closed) {
    close(makeReply(421, "4.4.2", options_.hostname + " Error: timeout exceeded"), out);
  }
  return out;
}

Effects ServerSession::shutdown() {
  Effects out;
  draining_ = true;
  closeIfDrained(out);
  return out;
}

Effects ServerSession::abort(Reply r) {
  Effects out;
  if (phase_ != Phase::Closed) close(std::move(r), out);
  return out;
}

const std::string* ServerSession::pendingHelo() const {
  const auto* args = pending_ ? std::get_if<HeloArgs>(&pending_->arg) : nullptr;
  return args ? &args->name : nullptr;
}

const MailArgs* ServerSession::pendingMail() const {
  return pending_ ? std::get_if<MailArgs>(&pending_->arg) : nullptr;
}

const RcptArgs* ServerSession::pendingRcpt() const {
  return pending_ ? std::get_if<RcptArgs>(&pending_->arg) : nullptr;
}

void ServerSession::run(Effects& out) {
  while (!pending_ && step(out)) {
  }
  closeIfDrained(out);
}

void ServerSession::closeIfDrained(Effects& out) {
  if (draining_ && phase_ != Phase::Closed && !pending_ && !transactionInFlight()) {
    close(makeReply(421, "4.3.2", options_.hostname + " Service shutting down"), out);
  }
}

bool ServerSession::step(Effects& out) {
  switch (phase_) {
    case Phase::Bdat:
      consumeChunk(out);
      return phase_ != Phase::Bdat;
    case Phase::Command:
    case Phase::Rejected:
    case Phase::Data: {
      const bool data = phase_ == Phase::Data;
      // +1 in DATA: the limit does not count a dot added for transparency (RFC 5321 4.5.3.1.6)
      const auto limit = data ? options_.limits.text_line + 1 : options_.limits.command_line - 2;
      auto line = reader_.next(limit);
      if (!line) return false;
      if (data) {
        onDataLine(*line, out);
      } else {
        onLine(*line, out);
      }
      return true;
    }
    default:
      return false;
  }
}

void ServerSession::onLine(const LineReader::Line& line, Effects& out) {
  if (line.overlong) return error(makeReply(500, "5.5.2", "Error: command line too long"), out);
  if (!line.crlf && options_.reject_bare_linefeed) {
    return error(makeReply(500, "5.5.2", "Error: bare <LF> received"), out);
  }
  onCommand(line.text, out);
}

void ServerSession::onCommand(std::string_view text, Effects& out) {
  if (text.empty() || text.find_first_of(std::string_view("\r\0", 2)) != text.npos) {
    return error(makeReply(500, "5.5.2", "Error: bad syntax"), out);
  }
  if (phase_ == Phase::Rejected) {
    const auto command = parseCommand(text);
    if (command.id() == Verb::Quit) return close(makeReply(221, "2.0.0", "Bye"), out);
    return error(makeReply(503, "5.5.1", "Error: service refused, send QUIT"), out);
  }
  dispatch(text, out);
}

void ServerSession::dispatch(std::string_view text, Effects& out) {
  const auto command = parseCommand(text);
  if (!command.info) {
    if (++unknown_commands_ >= options_.limits.unknown_commands) {
      return close(makeReply(421, "4.7.0", options_.hostname + " Error: too many unknown commands"),
                   out);
    }
    return error(makeReply(500, "5.5.2", "Error: command not recognized"), out);
  }
  const auto rule = command.info->arg;
  if ((rule == ArgRule::None && !command.arg.empty()) ||
      (rule == ArgRule::Required && command.arg.empty())) {
    return error(makeReply(501, "5.5.4", "Syntax error in parameters"), out);
  }
  if (draining_ && !transaction_.active && command.id() != Verb::Quit) {
    return close(makeReply(421, "4.3.2", options_.hostname + " Service shutting down"), out);
  }
  switch (command.id()) {
    case Verb::Helo:
      return onHelo(command.arg, false, out);
    case Verb::Ehlo:
      return onHelo(command.arg, true, out);
    case Verb::Mail:
      return onMail(command.arg, out);
    case Verb::Rcpt:
      return onRcpt(command.arg, out);
    case Verb::Data:
      return onData(out);
    case Verb::Bdat:
      return onBdat(command.arg, out);
    case Verb::StartTls:
      return onStartTls(out);
    case Verb::Rset:
      resetTransaction();
      return reply(makeReply(250, "2.0.0", "Ok"), out);
    case Verb::Noop:
      return reply(makeReply(250, "2.0.0", "Ok"), out);
    case Verb::Quit:
      return close(makeReply(221, "2.0.0", "Bye"), out);
    case Verb::Vrfy:
      return reply(makeReply(252, "2.0.0", "Cannot VRFY user, but will accept message"), out);
    case Verb::Help:
      return reply(makeReply(214, "2.0.0", kHelp), out);
    case Verb::Auth:
      return error(makeReply(503, "5.5.1", "Error: authentication not enabled"), out);
    case Verb::Expn:
    case Verb::Unknown:
      break;
  }
  error(makeReply(502, "5.5.1", "Error: command not implemented"), out);
}

void ServerSession::onHelo(std::string_view arg, bool esmtp, Effects& out) {
  ask(Stage::Helo, out, HeloArgs{std::string(arg), esmtp});
}

void ServerSession::onMail(std::string_view arg, Effects& out) {
  if (helo_.empty()) return error(makeReply(503, "5.5.1", "Error: send HELO/EHLO first"), out);
  if (transaction_.active) return error(makeReply(503, "5.5.1", "Error: nested MAIL command"), out);
  auto parsed = parseMailArgs(arg);
  if (auto* failure = std::get_if<Reply>(&parsed)) return error(std::move(*failure), out);
  auto& args = std::get<MailArgs>(parsed);
  if (args.size && *args.size > options_.limits.message_size) {
    return reply(makeReply(552, "5.3.4", "Message size exceeds fixed limit"), out);
  }
  ask(Stage::Mail, out, std::move(args));
}

void ServerSession::onRcpt(std::string_view arg, Effects& out) {
  if (!transaction_.active) return error(makeReply(503, "5.5.1", "Error: need MAIL command"), out);
  if (transaction_.chunking) return error(makeReply(503, "5.5.1", "Error: BDAT in progress"), out);
  auto parsed = parseRcptArgs(arg, transaction_.mail.smtputf8);
  if (auto* failure = std::get_if<Reply>(&parsed)) {
    record(Recipient{std::string(arg), *failure, false});
    return error(std::move(*failure), out);
  }
  auto& args = std::get<RcptArgs>(parsed);
  if (transaction_.accepted() >= options_.limits.recipients) {
    auto r = makeReply(452, "4.5.3", "Error: too many recipients");
    record(Recipient{args.forward_path, r, false});
    return reply(std::move(r), out);
  }
  ask(Stage::Rcpt, out, std::move(args));
}

void ServerSession::onData(Effects& out) {
  if (!transaction_.active) return error(makeReply(503, "5.5.1", "Error: need MAIL command"), out);
  if (transaction_.chunking) return error(makeReply(503, "5.5.1", "Error: DATA after BDAT"), out);
  if (transaction_.accepted() == 0) {
    return error(makeReply(554, "5.5.1", "Error: no valid recipients"), out);
  }
  ask(Stage::Data, out);
}

void ServerSession::onBdat(std::string_view arg, Effects& out) {
  const auto args = parseBdat(arg);
  // Without a valid size the chunk cannot be skipped: its octets would be read as commands.
  if (!args) return close(makeReply(501, "5.5.4", "Syntax: BDAT size [LAST]"), out);
  chunk_remaining_ = args->size;
  chunk_last_ = args->last;
  chunk_refusal_.reset();
  phase_ = Phase::Bdat;
  if (!transaction_.active) {
    chunk_refusal_ = makeReply(503, "5.5.1", "Error: need MAIL command");
  } else if (transaction_.accepted() == 0) {
    chunk_refusal_ = makeReply(554, "5.5.1", "Error: no valid recipients");
  } else if (!fitsMessage(transaction_.size, args->size, options_.limits.message_size)) {
    chunk_refusal_ = makeReply(552, "5.3.4", "Message size exceeds fixed limit");
  } else if (!transaction_.chunking) {
    transaction_.chunking = true;
    ask(Stage::Data, out);
  }
}

void ServerSession::onStartTls(Effects& out) {
  if (options_.tls_active) return error(makeReply(503, "5.5.1", "Error: TLS already active"), out);
  if (!options_.tls_available) {
    return error(makeReply(502, "5.5.1", "Error: command not implemented"), out);
  }
  if (transaction_.active) {
    return error(makeReply(503, "5.5.1", "Error: STARTTLS not allowed in a transaction"), out);
  }
  reply(makeReply(220, "2.0.0", "Ready to start TLS"), out);
  reader_.clear();  // plaintext pipelined after STARTTLS is never executed
  phase_ = Phase::TlsHandshake;
  out.push_back(effect::StartTls{});
}

void ServerSession::onDataLine(const LineReader::Line& line, Effects& out) {
  if (line.crlf && previous_crlf_ && !line.overlong && line.text == ".") {
    return endOfMessage(out);
  }
  previous_crlf_ = line.crlf;
  if (!line.crlf) bare_newline_ = true;
  std::string_view text = line.text;
  if (!text.empty() && text.front() == '.') text.remove_prefix(1);
  if (line.overlong || text.size() > options_.limits.text_line) {
    overlong_line_ = true;
    return;
  }
  appendMessageLine(text);
}

// A bare CR inside a line becomes a line break; CRs right before the line end are dropped.
void ServerSession::appendMessageLine(std::string_view text) {
  while (!text.empty() && text.back() == '\r') {
    text.remove_suffix(1);
    bare_newline_ = true;
  }
  for (;;) {
    const auto cr = text.find('\r');
    const auto piece = text.substr(0, cr);
    transaction_.size += piece.size() + 2;
    if (transaction_.size <= options_.limits.message_size) {
      nul_ = appendWithoutNul(transaction_.message, piece) || nul_;
      transaction_.message.append("\r\n");
    }
    if (cr == std::string_view::npos) return;
    bare_newline_ = true;
    text.remove_prefix(cr + 1);
  }
}

void ServerSession::consumeChunk(Effects& out) {
  auto& message = transaction_.message;
  const auto before = message.size();
  const auto taken = reader_.takeRaw(chunk_remaining_, message);
  chunk_remaining_ -= taken;
  if (chunk_refusal_) message.resize(before);
  if (!chunk_refusal_) transaction_.size += taken;
  if (chunk_remaining_ > 0) return;
  phase_ = Phase::Command;
  if (chunk_refusal_) {
    if (transaction_.active && chunk_refusal_->code != 503) resetTransaction();
    auto refusal = std::move(*chunk_refusal_);
    chunk_refusal_.reset();
    return error(std::move(refusal), out);
  }
  if (chunk_last_) return endOfMessage(out);
  reply(makeReply(250, "2.0.0", "Chunk received"), out);
}

void ServerSession::endOfMessage(Effects& out) {
  phase_ = Phase::Command;
  if (transaction_.chunking) {
    auto canonical = canonicalLines(transaction_.message);
    transaction_.message = std::move(canonical.text);
    bare_newline_ = canonical.bare_newline;
    nul_ = canonical.nul;
    overlong_line_ = canonical.longest_line > options_.limits.text_line;
  }
  last_message_size_ = transaction_.size;
  std::optional<Reply> refusal;
  if (transaction_.size > options_.limits.message_size) {
    refusal = makeReply(552, "5.3.4", "Message size exceeds fixed limit");
  } else if (overlong_line_) {
    refusal = makeReply(
        500, "5.5.2",
        "Error: message line longer than " + std::to_string(options_.limits.text_line) + " octets");
  } else if (bare_newline_ && options_.reject_bare_linefeed) {
    refusal = makeReply(550, "5.5.2", "Error: bare <CR> or <LF> received");
  } else if (nul_ && options_.reject_bare_linefeed) {
    refusal = makeReply(550, "5.6.0", "Error: NUL octet received");
  }
  if (refusal) {
    resetTransaction();
    return reply(std::move(*refusal), out);
  }
  ask(Stage::EndOfData, out);
}

void ServerSession::finishStage(Pending pending, StageResult result, Effects& out) {
  switch (pending.stage) {
    case Stage::Connect: {
      auto r = result.reply.value_or(makeReply(220, "", options_.hostname + " " + options_.banner));
      if (r.positive()) {
        phase_ = Phase::Command;
        return reply(std::move(r), out);
      }
      if (r.code == 421 || r.closes) return close(std::move(r), out);
      phase_ = Phase::Rejected;
      return reply(std::move(r), out);
    }
    case Stage::Helo:
      return afterHelo(pending, result, out);
    case Stage::Mail:
      return afterMail(pending, result, out);
    case Stage::Rcpt:
      return afterRcpt(pending, result, out);
    case Stage::Data:
      return afterData(result, out);
    case Stage::EndOfData:
      return afterEndOfData(result, out);
  }
}

void ServerSession::afterHelo(Pending& pending, const StageResult& result, Effects& out) {
  if (result.reply && !result.reply->positive()) return reply(*result.reply, out);
  auto& args = std::get<HeloArgs>(pending.arg);
  helo_ = std::move(args.name);
  esmtp_ = args.esmtp;
  resetTransaction();
  reply(esmtp_ ? ehloReply() : makeReply(250, "", options_.hostname), out);
}

void ServerSession::afterMail(Pending& pending, const StageResult& result, Effects& out) {
  auto r = result.reply.value_or(makeReply(250, "2.1.0", "Ok"));
  if (r.positive()) {
    transaction_ = Transaction{};
    transaction_.active = true;
    transaction_.mail = std::move(std::get<MailArgs>(pending.arg));
    last_message_size_ = 0;
  }
  reply(std::move(r), out);
}

void ServerSession::afterRcpt(Pending& pending, const StageResult& result, Effects& out) {
  auto r = result.reply.value_or(makeReply(250, "2.1.5", "Ok"));
  auto& args = std::get<RcptArgs>(pending.arg);
  record(Recipient{std::move(args.forward_path), r, r.positive()});
  reply(std::move(r), out);
}

void ServerSession::afterData(const StageResult& result, Effects& out) {
  const bool refused = result.reply && !result.reply->positive();
  if (transaction_.chunking) {
    if (refused) chunk_refusal_ = *result.reply;
    return;  // phase_ is Bdat: the chunk is read next
  }
  if (refused) return reply(*result.reply, out);
  if (reader_.buffered() > 0) {  // RFC 2920 3.1: DATA ends a pipelined group
    return close(makeReply(554, "5.5.0", "Error: improper command pipelining after DATA"), out);
  }
  phase_ = Phase::Data;
  previous_crlf_ = true;
  reply(result.reply.value_or(makeReply(354, "", "End data with <CR><LF>.<CR><LF>")), out);
}

void ServerSession::afterEndOfData(const StageResult& result, Effects& out) {
  reply(result.reply.value_or(makeReply(451, "4.3.0", "Error: internal error")), out);
  resetTransaction();
}

// Accepted recipients are bounded by the recipient limit; refused ones are kept up to the
// same number, so a client looping on RCPT cannot grow the transaction without bound.
void ServerSession::record(Recipient recipient) {
  auto& recipients = transaction_.recipients;
  const auto refused = recipients.size() - transaction_.accepted();
  if (recipient.accepted || refused < options_.limits.recipients) {
    recipients.push_back(std::move(recipient));
  }
}

void ServerSession::ask(Stage stage, Effects& out, decltype(Pending::arg) arg) {
  pending_ = Pending{stage, std::move(arg)};
  out.push_back(effect::RunStage{stage});
}

void ServerSession::reply(Reply r, Effects& out) {
  const bool closes = r.closes || r.code == 421;  // 421: "closing transmission channel"
  out.push_back(effect::Send{std::move(r)});
  if (closes) {
    out.push_back(effect::Close{});
    phase_ = Phase::Closed;
    pending_.reset();
  }
}

void ServerSession::error(Reply r, Effects& out) {
  reply(std::move(r), out);
  if (phase_ != Phase::Closed && ++errors_ >= options_.limits.errors) {
    close(makeReply(421, "4.7.0", options_.hostname + " Error: too many errors"), out);
  }
}

void ServerSession::close(Reply r, Effects& out) {
  r.closes = true;
  reply(std::move(r), out);
}

void ServerSession::resetTransaction() {
  transaction_ = Transaction{};
  previous_crlf_ = true;
  bare_newline_ = false;
  nul_ = false;
  overlong_line_ = false;
}

Reply ServerSession::ehloReply() const {
  std::string text = options_.hostname;
  text += "\nPIPELINING\nSIZE " + std::to_string(options_.limits.message_size);
  text += "\n8BITMIME\nENHANCEDSTATUSCODES\nSMTPUTF8\nCHUNKING";
  if (options_.tls_available && !options_.tls_active) text += "\nSTARTTLS";
  return makeReply(250, "", text);
}

bool ServerSession::transactionInFlight() const {
  return transaction_.active || phase_ == Phase::Data || phase_ == Phase::Bdat;
}

}  // namespace spamgate::smtp
