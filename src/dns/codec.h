// The DNS wire codec of the resolver, on ldns (packets are built and parsed by ldns; ldns's own
// resolver and sockets are never used). Pure functions: no sockets, no clock.
//
// parseAnswer() is the gate for everything that arrives from the network, so it validates
// before it trusts: a datagram that is not a response, carries another id, opcode, question
// count, name (compared case-insensitively), type or class than the query is dropped (an
// off-path spoofer must guess the id and the source port). Only then are RCODE, TC and the
// answer section read. Hazards: the input is untrusted (a fuzz target covers this path).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dns/types.h"

namespace spamgate::dns {

// What a query asked; `name` is normalized (names.h).
struct Question {
  std::string name;
  Type type = Type::A;
  uint16_t id = 0;
};

// The query packet: RD set, class IN, EDNS0 OPT with `edns_buffer` as UDP payload size (none
// when 0). Empty when the name does not parse.
std::vector<uint8_t> buildQuery(const Question& question, uint16_t edns_buffer);

// Rewrites the id of a query built by buildQuery() (a fresh random id for each try).
void setQueryId(std::vector<uint8_t>& query, uint16_t id);

enum class Disposition {
  Answer,     // a valid answer to the question: see result
  Truncated,  // a valid answer with TC=1: ask again over TCP
  Drop,       // not an answer to this question: ignore it and keep waiting
};

struct Parsed {
  Disposition disposition = Disposition::Drop;
  std::string_view reason;  // why it was dropped (static text)
  Result result;            // Answer only. ttl: the answer's own TTL, before any cap
};

// Validates and decodes one DNS message. CNAMEs in the answer section are followed from the
// question name (at most 8 links; no new query is made for a chain that leaves the answer).
// TTL: Ok -> the lowest TTL of the records and CNAMEs used; NxDomain/NoData -> min(SOA TTL,
// SOA MINIMUM) of the authority section's SOA (RFC 2308 5), 0 without a SOA (not cached);
// error RCODEs -> 0.
Parsed parseAnswer(std::span<const uint8_t> wire, const Question& question);

}  // namespace spamgate::dns
