// The DNS answer path (dns::parseAnswer) on arbitrary wire bytes, as they would come from a
// nameserver or a spoofer. Two questions per input: a fixed one whose id is the input's own
// (so the header check passes and ldns parses the rest), and the question the input itself
// carries when it is one spamgate asks (so the answer decoding runs deep). Whatever the bytes,
// a decoded result must be one a check can trust: Ok with records in their text form (names
// printable, odd octets escaped), other
// statuses without records, TTLs within RFC 2181's range.
#include <arpa/inet.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dns/codec.h"
#include "dns/ldns_cxx.h"
#include "dns/names.h"

namespace {

using namespace spamgate::dns;

void check(bool ok) {
  if (!ok) std::abort();
}

// A name in presentation form: odd octets escaped by ldns, so printable and without spaces.
void checkName(std::string_view name) {
  check(!name.empty());
  for (char c : name)
    check(c > 0x20 && c < 0x7f);
}

void checkRecord(const std::string& record, Type type) {
  unsigned char address[16];
  switch (type) {
    case Type::A:
      check(inet_pton(AF_INET, record.c_str(), address) == 1);
      return;
    case Type::AAAA:
      check(inet_pton(AF_INET6, record.c_str(), address) == 1);
      return;
    case Type::PTR:
      checkName(record);
      return;
    case Type::MX: {
      std::size_t space = record.find(' ');
      check(space != std::string::npos && space > 0 && space <= 5);
      for (std::size_t i = 0; i < space; ++i)
        check(record[i] >= '0' && record[i] <= '9');
      checkName(std::string_view(record).substr(space + 1));
      return;
    }
    case Type::TXT:
      return;
  }
}

void run(std::span<const uint8_t> wire, const Question& question) {
  Parsed parsed = parseAnswer(wire, question);
  const Result& result = parsed.result;
  check(result.ttl <= 0x7fffffffu);
  if (parsed.disposition != Disposition::Answer) {
    check(result.records.empty());
    check(parsed.disposition == Disposition::Truncated || !parsed.reason.empty());
    return;
  }
  check((result.status == Status::Ok) == !result.records.empty());
  for (const std::string& record : result.records)
    checkRecord(record, question.type);
}

std::optional<Type> askedType(ldns_rr_type type) {
  switch (type) {
    case LDNS_RR_TYPE_A:
      return Type::A;
    case LDNS_RR_TYPE_AAAA:
      return Type::AAAA;
    case LDNS_RR_TYPE_PTR:
      return Type::PTR;
    case LDNS_RR_TYPE_MX:
      return Type::MX;
    case LDNS_RR_TYPE_TXT:
      return Type::TXT;
    default:
      return std::nullopt;
  }
}

// The input's own question, when it is a single question of a type spamgate asks.
std::optional<Question> ownQuestion(std::span<const uint8_t> wire) {
  ldns_pkt* pkt = nullptr;
  if (ldns_wire2pkt(&pkt, wire.data(), wire.size()) != LDNS_STATUS_OK) return std::nullopt;
  std::optional<Question> question;
  if (ldns_rr_list_rr_count(ldns_pkt_question(pkt)) == 1) {
    const ldns_rr* rr = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
    char* owner = ldns_rdf2str(ldns_rr_owner(rr));
    std::optional<std::string> name = owner != nullptr ? normalizeName(owner) : std::nullopt;
    std::optional<Type> type = askedType(ldns_rr_get_type(rr));
    if (name && type) question = Question{*name, *type, ldns_pkt_id(pkt)};
    std::free(owner);
  }
  ldns_pkt_free(pkt);
  return question;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> wire(data, size);
  uint16_t id = size >= 2 ? static_cast<uint16_t>((data[0] << 8) | data[1]) : 0;
  run(wire, Question{"a.test", size >= 4 && (data[3] & 1) ? Type::TXT : Type::A, id});
  if (std::optional<Question> question = ownQuestion(wire)) run(wire, *question);
  return 0;
}
