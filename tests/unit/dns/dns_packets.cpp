#include "dns_packets.h"

#include <cstdio>
#include <cstdlib>

#include "dns/ldns_cxx.h"

namespace spamgate::dns::test {

namespace {

ldns_rr* parseRr(const std::string& text) {
  ldns_rr* rr = nullptr;
  if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) {
    std::fprintf(stderr, "test bug: ldns does not parse \"%s\"\n", text.c_str());
    std::abort();
  }
  return rr;
}

std::vector<uint8_t> toWire(const ldns_pkt* pkt) {
  uint8_t* data = nullptr;
  std::size_t size = 0;
  if (ldns_pkt2wire(&data, pkt, &size) != LDNS_STATUS_OK) std::abort();
  std::vector<uint8_t> out(data, data + size);
  std::free(data);
  return out;
}

void push(ldns_pkt* pkt, ldns_pkt_section section, const std::vector<std::string>& records) {
  for (const std::string& text : records)
    ldns_pkt_push_rr(pkt, section, parseRr(text));
}

}  // namespace

std::vector<uint8_t> wire(const Message& message) {
  ldns_pkt* pkt = ldns_pkt_new();
  ldns_pkt_set_id(pkt, message.id);
  ldns_pkt_set_qr(pkt, message.qr);
  ldns_pkt_set_tc(pkt, message.tc);
  ldns_pkt_set_rcode(pkt, message.rcode);
  ldns_pkt_set_opcode(pkt, static_cast<ldns_pkt_opcode>(message.opcode));
  if (!message.qname.empty()) {
    ldns_rr* question = ldns_rr_new();
    ldns_rr_set_question(question, true);
    std::string name = message.qname.back() == '.' ? message.qname : message.qname + ".";
    ldns_rr_set_owner(question, ldns_dname_new_frm_str(name.c_str()));
    ldns_rr_set_type(question, static_cast<ldns_rr_type>(message.qtype));
    ldns_rr_set_class(question, static_cast<ldns_rr_class>(message.qclass));
    ldns_pkt_push_rr(pkt, LDNS_SECTION_QUESTION, question);
  }
  push(pkt, LDNS_SECTION_ANSWER, message.answer);
  push(pkt, LDNS_SECTION_AUTHORITY, message.authority);
  std::vector<uint8_t> out = toWire(pkt);
  ldns_pkt_free(pkt);
  return out;
}

std::vector<uint8_t> replyTo(const std::vector<uint8_t>& query, uint8_t rcode,
                             const std::vector<std::string>& answer,
                             const std::vector<std::string>& authority) {
  ldns_pkt* pkt = nullptr;
  if (ldns_wire2pkt(&pkt, query.data(), query.size()) != LDNS_STATUS_OK) return {};
  ldns_pkt_set_qr(pkt, true);
  ldns_pkt_set_rcode(pkt, rcode);
  push(pkt, LDNS_SECTION_ANSWER, answer);
  push(pkt, LDNS_SECTION_AUTHORITY, authority);
  std::vector<uint8_t> out = toWire(pkt);
  ldns_pkt_free(pkt);
  return out;
}

std::string queryName(const std::vector<uint8_t>& query) {
  ldns_pkt* pkt = nullptr;
  if (ldns_wire2pkt(&pkt, query.data(), query.size()) != LDNS_STATUS_OK) return {};
  std::string name;
  if (ldns_pkt_qdcount(pkt) == 1) {
    char* text = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(pkt), 0)));
    name = text;
    std::free(text);
    if (!name.empty() && name.back() == '.') name.pop_back();
    for (char& c : name)
      c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  ldns_pkt_free(pkt);
  return name;
}

uint16_t queryId(const std::vector<uint8_t>& query) {
  return query.size() < 2 ? 0 : static_cast<uint16_t>((query[0] << 8) | query[1]);
}

}  // namespace spamgate::dns::test
