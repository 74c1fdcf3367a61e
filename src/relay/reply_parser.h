// Parses the replies of a backend SMTP server (RFC 5321 4.2): one or more lines "ddd-text"
// ending with a line "ddd text" (or a bare "ddd"), all with the same code. Pure and bounded:
// a line longer than kMaxReplyLine octets or a reply with more than kMaxReplyLines lines is a
// protocol error, as is anything that is not a reply line (garbage, a code outside 2xx-5xx, a
// code that changes between lines).
//
// Results: smtp::Reply with the code, the RFC 3463 enhanced code when the first line's text
// begins with one of the same class ("250 2.1.0 Ok" -> "2.1.0"), and the text lines joined by
// '\n' (the enhanced code stripped from every line that repeats it). Lines may end in CRLF or
// in a bare LF (lenient toward the backend; the CR is dropped).
//
// Errors are sticky: once feed() returned Error, the stream cannot be resynchronised and the
// owner must drop the connection.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "smtp/reply.h"

namespace spamgate::relay {

inline constexpr std::size_t kMaxReplyLine = 4096;  // octets, without the line ending
inline constexpr std::size_t kMaxReplyLines = 100;

class ReplyParser {
 public:
  enum class Status { NeedMore, Complete, Error };

  // Consumes octets from the front of `in`: up to and including the end of one reply when a
  // reply completes (Complete: take() it; call feed() again for the rest), all of them when
  // not (NeedMore), or stops at the offending line (Error: error() says why).
  Status feed(std::string_view& in);
  // The reply that completed; resets the parser for the next one.
  smtp::Reply take();
  // True when no part of a reply is buffered.
  bool idle() const { return partial_.empty() && reply_.code == 0 && !failed_; }
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }

 private:
  Status onLine(std::string_view line);
  Status fail(std::string why);

  std::string partial_;  // the current line so far
  smtp::Reply reply_;    // the reply being assembled (code 0: none yet)
  std::size_t lines_ = 0;
  bool complete_ = false;
  bool failed_ = false;
  std::string error_;
};

// Splits "2.1.5 text" into {"2.1.5", "text"} when `text` begins with an enhanced status code
// (RFC 3463: class.subject.detail, class equal to the first digit of `code`, subject and
// detail of 1-3 digits) followed by a space or the end; otherwise {"", text}.
std::pair<std::string_view, std::string_view> splitEnhanced(int code, std::string_view text);

}  // namespace spamgate::relay
