// Pure helpers of the backend SMTP client: the EHLO capability list, the XCLIENT and XFORWARD
// commands (Postfix XCLIENT_README / XFORWARD_README), MAIL and RCPT lines, dot-stuffing and
// the queue id in a final reply. No state, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/relay.h"
#include "smtp/reply.h"

namespace spamgate::relay {

// What a backend announced in its EHLO reply. Unknown keywords (AUTH, DSN, CHUNKING, ...) are
// ignored. Attribute and keyword names are upper case.
struct Capabilities {
  bool esmtp = false;  // EHLO succeeded (false after a HELO fallback)
  bool pipelining = false;
  bool size = false;
  uint64_t size_limit = 0;  // SIZE's argument; 0: none announced
  bool eightbitmime = false;
  bool smtputf8 = false;
  bool starttls = false;
  std::vector<std::string> xclient;   // XCLIENT attribute names
  std::vector<std::string> xforward;  // XFORWARD attribute names

  bool hasXclient(std::string_view attr) const;
  bool hasXforward(std::string_view attr) const;
};

// The capabilities of a positive EHLO reply (its first line is the server's name).
Capabilities parseCapabilities(const smtp::Reply& ehlo);

// RFC 3461 xtext: '+', '=' and octets outside '!'..'~' become "+HH".
std::string xtext(std::string_view value);

// The XCLIENT command (with CRLF) for the attributes NAME ADDR PORT HELO PROTO the server
// advertised, or "" when it advertised none of them. Unknown name/helo: "[UNAVAILABLE]"; IPv6
// addresses get the "IPV6:" prefix. A HELO that would push the line past 512 octets is sent as
// "[UNAVAILABLE]".
std::string xclientCommand(const ClientInfo& client, const Capabilities& caps);

// The XFORWARD commands (each with CRLF) for the advertised attributes, split like Postfix into
// "NAME ADDR PORT" and "PROTO HELO SOURCE" so that each stays short; empty when none.
std::vector<std::string> xforwardCommands(const ClientInfo& client, const Capabilities& caps);

// "MAIL FROM:<path>[ SIZE=n][ params]\r\n"; SIZE only when the server offers it and `size` is
// known.
std::string mailCommand(std::string_view reverse_path, std::string_view params,
                        std::optional<uint64_t> size, const Capabilities& caps);
// `params` without a SIZE=n parameter; n goes to `size` (nullopt when absent or malformed).
std::string withoutSize(std::string_view params, std::optional<uint64_t>& size);
std::string rcptCommand(std::string_view forward_path, std::string_view params);

// Appends `message` dot-stuffed (a '.' at the start of a line is doubled), with a final CRLF
// added when it does not end with one, then the end-of-data line ".\r\n".
void appendDotStuffed(std::string& out, std::string_view message);

// The id in "... queued as ABC123" (Postfix, Haraka, ...), "" when absent.
std::string queueIdFrom(std::string_view text);

}  // namespace spamgate::relay
