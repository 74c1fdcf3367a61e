// Crafted DNS messages for the resolver's tests, built with ldns from presentation-format
// records ("name. 60 IN A 127.0.0.2"), so that each test states the answer it feeds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dns/types.h"

namespace spamgate::dns::test {

struct Message {
  uint16_t id = 0;
  std::string qname;  // absolute or not; empty: no question section
  uint16_t qtype = 1;
  uint16_t qclass = 1;  // IN
  uint8_t rcode = 0;
  bool qr = true;
  bool tc = false;
  uint8_t opcode = 0;
  std::vector<std::string> answer;
  std::vector<std::string> authority;
};

// The wire form; aborts the test binary on records that ldns does not parse (a test bug).
std::vector<uint8_t> wire(const Message& message);

// A reply to `query` (wire): same id and question, QR set, `rcode`, `answer` records.
std::vector<uint8_t> replyTo(const std::vector<uint8_t>& query, uint8_t rcode,
                             const std::vector<std::string>& answer,
                             const std::vector<std::string>& authority = {});

// The question name of a query (lower case, no final dot) and its id; empty on junk.
std::string queryName(const std::vector<uint8_t>& query);
uint16_t queryId(const std::vector<uint8_t>& query);

}  // namespace spamgate::dns::test
