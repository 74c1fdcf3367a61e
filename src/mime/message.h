// A message as content rules see it (SpamAssassin's header, body, rawbody, uri and full
// views), parsed with GMime: header fields unfolded and RFC 2047-decoded, the MIME tree walked
// within limits, text parts decoded (base64, quoted-printable) and converted to UTF-8, HTML
// rendered to text, URIs collected from text and HTML. Pure: bytes in, views out; never throws
// on hostile input (a part it cannot decode is counted and skipped).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace spamgate::mime {

struct Limits {
  std::size_t max_depth = 20;            // nested multiparts / message/rfc822
  std::size_t max_parts = 500;           // leaf parts walked
  std::size_t max_text_bytes = 1 << 20;  // per view (body, rawbody): the rest is cut
  // SpamAssassin's body_part_scan_size and rawbody_part_scan_size: the text one part adds to
  // body (rendered) and to rawbody (decoded) is cut at the first line break (body: else space;
  // rawbody: else '>') within 1 KiB past this many bytes, else at it. 0: no cap.
  std::size_t body_part_scan_bytes = 50000;
  std::size_t rawbody_part_scan_bytes = 500000;
  std::size_t max_header_bytes = 256 << 10;
  std::size_t max_uris = 1000;
};

struct Header {
  std::string name;     // as sent ("Subject")
  std::string raw;      // the value unfolded (CRLF + WSP -> WSP), not decoded, outer space trimmed
  std::string decoded;  // RFC 2047 encoded-words decoded, converted to UTF-8
};

struct Stats {
  std::size_t parts = 0;          // leaf parts seen
  std::size_t depth = 0;          // deepest nesting reached
  std::size_t decode_errors = 0;  // bad base64/QP, unknown charsets, ...
  bool truncated = false;         // a limit cut something
};

struct Message {
  std::vector<Header> headers;  // the top-level header block, in order
  // SpamAssassin's "body": the Subject, then every text part decoded, in UTF-8, HTML rendered
  // to text, one paragraph per line (runs of whitespace collapsed to one space); each part's
  // text cut to Limits::body_part_scan_bytes.
  std::string body;
  // "rawbody": the text parts decoded and in UTF-8, HTML not rendered, line breaks kept; each
  // part cut to Limits::rawbody_part_scan_bytes.
  std::string rawbody;
  std::vector<std::string> uris;  // http(s)/ftp/mailto/www. from text and HTML, deduplicated
  Stats stats;
};

Message parseMessage(std::string_view raw, const Limits& limits = {});

// The decoded values of every field named `name` (case-insensitive), in order.
std::vector<std::string_view> headerValues(const Message& message, std::string_view name);

struct Mailbox {
  std::string name;     // display name, decoded; may be empty
  std::string address;  // local@domain; empty for a group without members
};
// The mailboxes of an address-list header value (From, To, Cc, Reply-To, ...): give it the raw
// value (Header::raw), so that an encoded display name holding ',' or '<' cannot split it;
// names come back decoded. Groups give their members; an empty group one entry without address.
std::vector<Mailbox> mailboxes(std::string_view value);

}  // namespace spamgate::mime
