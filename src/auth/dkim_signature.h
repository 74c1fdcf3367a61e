// DKIM-Signature parsing (RFC 6376): the tag=value list of section 3.2, and finding every
// DKIM-Signature header field of a message with the tags that name it (d=, s=, a=, i=, b=).
// Pure functions on untrusted text, no I/O, no crypto: verification is auth/dkim.h.
//
// Tag lists: tag-spec *(";" tag-spec) [";"], each `[FWS] name [FWS] "=" [FWS] value [FWS]`;
// names are ALPHA *(ALPHA / DIGIT / "_"), compared case-sensitively; a value may be empty and
// may hold inner whitespace (kept as given, the ends trimmed). A duplicate name, a spec without
// "=", a bad name, a control octet or more than kMaxTags tags make the list invalid.
//
// Signatures: only the header block (up to the first empty line) is read; LF or CRLF line
// ends; folded fields are unfolded. A signature whose tag list is invalid, or lacks d= or s=,
// is still listed, with `error` set: RFC 8601 reports it (permerror) rather than ignoring it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spamgate::auth {

struct TagList {
  static constexpr std::size_t kMaxTags = 64;
  std::vector<std::pair<std::string, std::string>> tags;  // in order, values trimmed
  // The value of `name`, or null when absent.
  const std::string* find(std::string_view name) const;
};

// The list, or nullopt with the reason in `error` (when given).
std::optional<TagList> parseTagList(std::string_view text, std::string* error = nullptr);

struct DkimSignature {
  std::string domain;     // d=, lower case
  std::string selector;   // s=
  std::string algorithm;  // a=, lower case
  std::string identity;   // i=
  std::string query;      // q=, lower case, "" when absent
  std::string b;          // b= without whitespace (identifies the signature)
  std::string header_b;   // the first 8 characters of b
  std::string error;      // empty when the tag list parsed and has d= and s=
  // "selector._domainkey.domain", the TXT name of the key ("" when error is set).
  std::string keyName() const;
};

struct DkimSignatures {
  std::vector<DkimSignature> signatures;  // in header order, at most the `max` asked
  std::size_t seen = 0;                   // DKIM-Signature fields in the header block
};

// Every DKIM-Signature field of `message` (a whole message or its header block).
DkimSignatures findDkimSignatures(std::string_view message, std::size_t max);

// Removes every space, tab, CR and LF (FWS inside base64 values).
std::string withoutWhitespace(std::string_view text);

}  // namespace spamgate::auth
