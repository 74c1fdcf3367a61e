// Authentication-Results (RFC 8601): the field spamgate adds for the backend, and the removal
// of fields that claim to come from us before it is added (section 5: a forged field with our
// authserv-id would otherwise be trusted downstream). Pure functions, no I/O.
//
// The field we write, CRLF-terminated, one resinfo per line, folded with a tab so that no line
// exceeds 78 characters unless a single value is longer:
//   Authentication-Results: mx.example.net;
//   	spf=pass smtp.mailfrom=user@example.com;
//   	dkim=pass header.d=example.com header.s=sel header.b=AbCdEfGh;
//   	dmarc=pass (p=reject) header.from=example.com
// spf uses smtp.helo=<domain> when the HELO name was checked; dkim=none when the DKIM check ran
// and found no signature; "Authentication-Results: mx.example.net; none" when nothing was
// checked (section 2.2). A property value that is neither an RFC 2045 token nor of the form
// [local-part@]domain is written as a quoted-string; control characters in a value (CR, LF,
// ...) become '?', so a value from the peer can never end the field or start another.
//
// Removal: a field named Authentication-Results (any case) whose authserv-id equals ours
// (case-insensitively; quoted or not; after any comments and whitespace, folded lines
// included) is dropped, continuation lines and all. Only the id is read: whatever follows it,
// valid or not, does not save a field that names us. Every other byte of the message, body
// included, stays as it was.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "auth/results.h"

namespace spamgate::auth {

std::string authenticationResultsHeader(std::string_view authserv_id, const AuthFacts& facts);

// The authserv-id at the start of an Authentication-Results field value (unquoted), or
// nullopt when the value does not start with a token or a quoted-string after CFWS.
std::optional<std::string> authservId(std::string_view field_value);

// Whether an Authentication-Results field value claims `authserv_id` (case-insensitive): such
// a field arriving from outside is a forgery and must go (policy::stampMessage removes it).
bool claimsAuthservId(std::string_view field_value, std::string_view authserv_id);

}  // namespace spamgate::auth
