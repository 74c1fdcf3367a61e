// Value types of the DNS resolver: the record types spamgate asks for, the outcome of a lookup
// and the resolver's counters. No I/O here.
//
// Result text forms (one string per record, in the order the server gave them, except MX):
//   A "127.0.0.2"; AAAA "::1" (inet_ntop); PTR "mail.example.com" (lower case, no final dot);
//   MX "10 mail.example.com" (preference, space, exchange; sorted by preference);
//   TXT the record's character-strings concatenated without separator (RFC 7208 3.3), raw
//   bytes, unescaped: treat them as untrusted input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spamgate::dns {

enum class Type : uint16_t { A = 1, PTR = 12, MX = 15, TXT = 16, AAAA = 28 };

enum class Status {
  Ok,          // records hold at least one record of the asked type
  NxDomain,    // the name does not exist (RCODE 3)
  NoData,      // the name exists, but has no record of this type
  ServFail,    // RCODE 2: the server could not answer (often DNS trouble upstream)
  Refused,     // RCODE 5: the server will not answer us
  FormErr,     // RCODE 1: the server did not understand the query
  Timeout,     // no usable answer from any server before the deadline (or all unreachable)
  BadName,     // the name cannot be put in a query (syntax, label or name too long)
  LocalError,  // no socket could be opened, or too many lookups in flight
  Other,       // any other RCODE (NOTIMP, ...)
};

// The operator-facing name of a status ("nxdomain", "timeout", ...): log and metric keys.
std::string_view statusName(Status status);
std::string_view typeName(Type type);  // "A", "AAAA", "PTR", "MX", "TXT"

struct Result {
  Status status = Status::Other;
  std::vector<std::string> records;  // Ok only; see the text forms above
  // Seconds this answer stays valid, after the resolver's caps (0: not cached). A cached
  // answer reports the seconds it has left, rounded up.
  uint32_t ttl = 0;
  bool from_cache = false;
};

// Monotonic counters since the resolver was created, plus two gauges.
struct Stats {
  uint64_t lookups = 0;          // lookup() calls
  uint64_t cache_hits = 0;       // answered from the cache
  uint64_t merged = 0;           // joined an identical lookup already in flight
  uint64_t queries = 0;          // network exchanges started (one per distinct question)
  uint64_t udp_sent = 0;         // UDP datagrams sent (one per try)
  uint64_t tcp_sent = 0;         // queries sent over TCP after a truncated answer
  uint64_t truncated = 0;        // UDP answers with TC=1
  uint64_t dropped_answers = 0;  // wrong source, id, question, or not a response
  uint64_t try_timeouts = 0;     // tries that got no answer in time
  uint64_t timeouts = 0;         // exchanges that ended in Status::Timeout
  uint64_t cancelled = 0;        // exchanges stopped because every waiter went away
  std::size_t cache_entries = 0;
  std::size_t in_flight = 0;  // exchanges on the wire now
};

}  // namespace spamgate::dns
