#include "dns/codec.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <memory>
#include <utility>

#include "dns/ldns_cxx.h"

namespace spamgate::dns {

namespace {

struct PktFree {
  void operator()(ldns_pkt* pkt) const { ldns_pkt_free(pkt); }
};
struct RdfFree {
  void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;

constexpr std::size_t kHeaderSize = 12;
constexpr int kMaxChain = 8;
constexpr uint8_t kQrBit = 0x80;

ldns_rr_type rrType(Type type) {
  return static_cast<ldns_rr_type>(type);
}

RdfPtr absoluteName(const std::string& name) {
  return RdfPtr(ldns_dname_new_frm_str((name + ".").c_str()));
}

// RFC 2181 8: a TTL with the top bit set counts as zero.
uint32_t rrTtl(const ldns_rr* rr) {
  uint32_t ttl = ldns_rr_ttl(rr);
  return ttl > 0x7fffffffu ? 0 : ttl;
}

bool isIn(const ldns_rr* rr) {
  return ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN;
}

Parsed drop(std::string_view reason) {
  Parsed parsed;
  parsed.reason = reason;
  return parsed;
}

// Cheap checks on the raw header first: most junk never reaches the ldns parser.
std::string_view headerMismatch(std::span<const uint8_t> wire, uint16_t id) {
  if (wire.size() < kHeaderSize) return "short";
  if ((wire[2] & kQrBit) == 0) return "not a response";
  if (((wire[0] << 8) | wire[1]) != id) return "id mismatch";
  return {};
}

std::string_view questionMismatch(const ldns_pkt* pkt, const Question& question) {
  if (ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY) return "opcode";
  const ldns_rr_list* questions = ldns_pkt_question(pkt);
  if (ldns_rr_list_rr_count(questions) != 1) return "question count";
  const ldns_rr* rr = ldns_rr_list_rr(questions, 0);
  if (ldns_rr_get_type(rr) != rrType(question.type) || !isIn(rr)) return "question type";
  RdfPtr expected = absoluteName(question.name);
  if (!expected || ldns_dname_compare(ldns_rr_owner(rr), expected.get()) != 0) {
    return "question name";
  }
  return {};
}

// RFC 2308 5: a negative answer lives min(SOA TTL, SOA MINIMUM); without a SOA, not at all.
uint32_t negativeTtl(const ldns_pkt* pkt) {
  const ldns_rr_list* authority = ldns_pkt_authority(pkt);
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(authority); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(authority, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) < 7) continue;
    const ldns_rdf* minimum = ldns_rr_rdf(rr, 6);
    if (ldns_rdf_size(minimum) != 4) continue;
    return std::min(rrTtl(rr), ldns_rdf2native_int32(minimum) & 0x7fffffffu);
  }
  return 0;
}

struct Chain {
  std::vector<const ldns_rr*> records;
  uint32_t ttl = std::numeric_limits<uint32_t>::max();
};

// The records of `type` owned by the question name or by the end of its CNAME chain.
Chain followChain(const ldns_rr_list* answer, const ldns_rdf* qname, ldns_rr_type type) {
  Chain chain;
  const ldns_rdf* target = qname;
  for (int hop = 0; hop <= kMaxChain; ++hop) {
    const ldns_rdf* next = nullptr;
    uint32_t next_ttl = 0;
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(answer, i);
      if (!isIn(rr) || ldns_dname_compare(ldns_rr_owner(rr), target) != 0) continue;
      if (ldns_rr_get_type(rr) == type) {
        chain.records.push_back(rr);
        chain.ttl = std::min(chain.ttl, rrTtl(rr));
      } else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) == 1) {
        next = ldns_rr_rdf(rr, 0);
        next_ttl = rrTtl(rr);
      }
    }
    if (!chain.records.empty() || next == nullptr) break;
    chain.ttl = std::min(chain.ttl, next_ttl);
    target = next;
  }
  return chain;
}

std::optional<std::string> addressText(const ldns_rdf* rdf, int family, std::size_t size) {
  if (rdf == nullptr || ldns_rdf_size(rdf) != size) return std::nullopt;
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, ldns_rdf_data(rdf), text, sizeof text) == nullptr) return std::nullopt;
  return std::string(text);
}

std::optional<std::string> nameText(const ldns_rdf* rdf) {
  if (rdf == nullptr || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME) return std::nullopt;
  char* raw = ldns_rdf2str(rdf);
  if (raw == nullptr) return std::nullopt;
  std::string text(raw);
  std::free(raw);
  if (text.size() > 1 && text.back() == '.') text.pop_back();
  std::transform(text.begin(), text.end(), text.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return text;
}

// A TXT record's character-strings, each a length octet and that many octets, concatenated.
std::optional<std::string> txtText(const ldns_rr* rr) {
  std::string text;
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
    std::size_t size = ldns_rdf_size(rdf);
    const uint8_t* data = ldns_rdf_data(rdf);
    if (size == 0 || data[0] != size - 1) return std::nullopt;
    text.append(reinterpret_cast<const char*>(data + 1), size - 1);
  }
  return text;
}

std::optional<std::string> recordText(const ldns_rr* rr, Type type) {
  switch (type) {
    case Type::A:
      return addressText(ldns_rr_rdf(rr, 0), AF_INET, 4);
    case Type::AAAA:
      return addressText(ldns_rr_rdf(rr, 0), AF_INET6, 16);
    case Type::PTR:
      return nameText(ldns_rr_rdf(rr, 0));
    case Type::TXT:
      return txtText(rr);
    case Type::MX: {
      const ldns_rdf* preference = ldns_rr_rdf(rr, 0);
      std::optional<std::string> exchange = nameText(ldns_rr_rdf(rr, 1));
      if (preference == nullptr || ldns_rdf_size(preference) != 2 || !exchange) {
        return std::nullopt;
      }
      return std::to_string(ldns_rdf2native_int16(preference)) + " " + *exchange;
    }
  }
  return std::nullopt;
}

uint16_t mxPreference(const ldns_rr* rr) {
  const ldns_rdf* preference = ldns_rr_rdf(rr, 0);
  return preference != nullptr && ldns_rdf_size(preference) == 2 ? ldns_rdf2native_int16(preference)
                                                                 : 0;
}

Result decodeRecords(const ldns_pkt* pkt, const Question& question) {
  Result result;
  RdfPtr qname = absoluteName(question.name);
  if (!qname) return result;  // not reached: the question was matched against this name
  Chain chain = followChain(ldns_pkt_answer(pkt), qname.get(), rrType(question.type));
  if (question.type == Type::MX) {
    std::stable_sort(
        chain.records.begin(), chain.records.end(),
        [](const ldns_rr* a, const ldns_rr* b) { return mxPreference(a) < mxPreference(b); });
  }
  for (const ldns_rr* rr : chain.records) {
    // A record whose RDATA does not fit its type is skipped, not trusted.
    if (std::optional<std::string> text = recordText(rr, question.type)) {
      result.records.push_back(std::move(*text));
    }
  }
  result.status = result.records.empty() ? Status::NoData : Status::Ok;
  result.ttl = result.records.empty() ? negativeTtl(pkt) : chain.ttl;
  return result;
}

Result decode(const ldns_pkt* pkt, const Question& question) {
  Result result;
  switch (ldns_pkt_get_rcode(pkt)) {
    case LDNS_RCODE_NOERROR:
      return decodeRecords(pkt, question);
    case LDNS_RCODE_NXDOMAIN:
      result.status = Status::NxDomain;
      result.ttl = negativeTtl(pkt);
      return result;
    case LDNS_RCODE_SERVFAIL:
      result.status = Status::ServFail;
      return result;
    case LDNS_RCODE_REFUSED:
      result.status = Status::Refused;
      return result;
    case LDNS_RCODE_FORMERR:
      result.status = Status::FormErr;
      return result;
    default:
      result.status = Status::Other;
      return result;
  }
}

}  // namespace

std::vector<uint8_t> buildQuery(const Question& question, uint16_t edns_buffer) {
  ldns_rdf* owner = ldns_dname_new_frm_str((question.name + ".").c_str());
  if (owner == nullptr) return {};
  // The packet owns `owner` from here on.
  PktPtr pkt(ldns_pkt_query_new(owner, rrType(question.type), LDNS_RR_CLASS_IN, LDNS_RD));
  if (!pkt) return {};
  ldns_pkt_set_id(pkt.get(), question.id);
  if (edns_buffer > 0) ldns_pkt_set_edns_udp_size(pkt.get(), edns_buffer);
  uint8_t* wire = nullptr;
  std::size_t size = 0;
  if (ldns_pkt2wire(&wire, pkt.get(), &size) != LDNS_STATUS_OK) return {};
  std::vector<uint8_t> query(wire, wire + size);
  std::free(wire);
  return query;
}

void setQueryId(std::vector<uint8_t>& query, uint16_t id) {
  if (query.size() < kHeaderSize) return;
  query[0] = static_cast<uint8_t>(id >> 8);
  query[1] = static_cast<uint8_t>(id & 0xff);
}

Parsed parseAnswer(std::span<const uint8_t> wire, const Question& question) {
  if (std::string_view why = headerMismatch(wire, question.id); !why.empty()) return drop(why);
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, wire.data(), wire.size()) != LDNS_STATUS_OK) return drop("malformed");
  PktPtr pkt(raw);
  if (std::string_view why = questionMismatch(pkt.get(), question); !why.empty()) {
    return drop(why);
  }
  Parsed parsed;
  if (ldns_pkt_tc(pkt.get())) {
    parsed.disposition = Disposition::Truncated;
    return parsed;
  }
  parsed.disposition = Disposition::Answer;
  parsed.result = decode(pkt.get(), question);
  return parsed;
}

}  // namespace spamgate::dns
