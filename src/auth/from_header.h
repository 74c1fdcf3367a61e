// The RFC 5322 From domain of a message, the identifier DMARC (RFC 7489 section 3.1) aligns
// SPF and DKIM with, and the walk over a message's header fields that it (and the
// Authentication-Results remover) stands on. Pure functions on untrusted bytes, no I/O.
//
// Header fields: from the start of the message to the first empty line (or the end of the
// message). A field is a line "name:value" (name: printable ASCII but ':', WSP before the
// colon tolerated as in RFC 5322 obs-optional) plus the lines after it that start with SP or
// HTAB. Lines end in CRLF or bare LF. A line that is neither a field nor a continuation ends
// the header section (as the backend reads it); continuations without a field are skipped.
//
// From: the first From field's value is parsed as an RFC 5322 mailbox-list (display names,
// quoted strings, comments, angle addresses, obsolete routes) and RFC 6854 groups, UTF-8
// allowed (RFC 6532). Domains come back with ASCII lower-cased; an IDN (U-label or A-label)
// stays as written. A domain literal ("[192.0.2.1]") makes the field unparseable: DMARC has
// nothing to look up for it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spamgate::auth {

struct HeaderField {
  std::string_view name;   // as written, without trailing WSP
  std::string_view value;  // after the colon, continuation lines included, without the final EOL
  std::size_t begin = 0;   // byte range of the whole field in the message, final EOL included
  std::size_t end = 0;
};

// Every header field, in order. Views into `message`.
std::vector<HeaderField> headerFields(std::string_view message);

// The domains of every mailbox of a mailbox-list or address-list value, in order (a group's
// members included, an empty group adding none); nullopt when the value does not parse.
std::optional<std::vector<std::string>> mailboxDomains(std::string_view value);

enum class FromStatus {
  Missing,            // no From field
  MultipleFields,     // more than one From field: `domains` is empty
  MultipleMailboxes,  // one From field with several mailboxes: `domains` holds each domain
  Unparseable,        // one From field, not a mailbox-list with a domain we can use
  Ok,                 // one From field, one mailbox: `domain`
};

struct FromDomain {
  FromStatus status = FromStatus::Missing;
  std::size_t fields = 0;            // how many From fields the header holds
  std::string domain;                // Ok; MultipleMailboxes when all share one domain
  std::vector<std::string> domains;  // Ok and MultipleMailboxes
};

FromDomain fromDomain(std::string_view message);

}  // namespace spamgate::auth
