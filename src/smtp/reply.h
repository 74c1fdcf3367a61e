// An SMTP reply: the three-digit code, the RFC 3463 enhanced code and its text. The reply is
// what the peer sees; why it was sent belongs in the decision log, not in the text.
#pragma once

#include <string>
#include <string_view>

namespace spamgate::smtp {

struct Reply {
  int code = 0;
  std::string enhanced;  // "2.1.0"; empty only for the greeting and HELO/EHLO (RFC 2034 s4)
  std::string text;      // '\n' separates the lines of a multi-line reply
  bool closes = false;   // the server closes the connection after sending it

  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }
  // The wire form: every line "code-..." but the last "code ...", each ending in CRLF.
  std::string wire() const;
  // One line for logs: "550 5.7.1 text".
  std::string summary() const;
};

Reply makeReply(int code, std::string_view enhanced, std::string_view text, bool closes = false);

}  // namespace spamgate::smtp
