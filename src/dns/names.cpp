#include "dns/names.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>

#include "dns/ldns_cxx.h"
#include "dns/types.h"

namespace spamgate::dns {

namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string reversedV4(const uint8_t* octets) {
  std::string out;
  for (int i = 3; i >= 0; --i) {
    out += std::to_string(octets[i]);
    if (i > 0) out += '.';
  }
  return out;
}

std::string reversedV6(const uint8_t* octets) {
  std::string out;
  out.reserve(63);
  for (int i = 15; i >= 0; --i) {
    out += kHex[octets[i] & 0x0f];
    out += '.';
    out += kHex[octets[i] >> 4];
    if (i > 0) out += '.';
  }
  return out;
}

// In ldns's parser an empty or over-long label fails, as does an over-long name.
bool ldnsAccepts(const std::string& absolute) {
  ldns_rdf* rdf = ldns_dname_new_frm_str(absolute.c_str());
  if (rdf == nullptr) return false;
  ldns_rdf_deep_free(rdf);
  return true;
}

}  // namespace

std::string foldName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 'A' && u <= 'Z') ? static_cast<char>(u - 'A' + 'a') : c;
  }
  return out;
}

std::optional<std::string> normalizeName(std::string_view name) {
  if (name.size() > 1005) return std::nullopt;  // 255 octets fully escaped, and the dot
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return std::nullopt;
  }
  std::string out = foldName(name);  // drops one final dot
  if (out.empty() || out.back() == '\\' || !ldnsAccepts(out + ".")) return std::nullopt;
  return out;
}

std::string reversedAddress(std::string_view ip) {
  std::string text(ip);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return reversedV4(reinterpret_cast<const uint8_t*>(&v4.s_addr));
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return {};
  if (IN6_IS_ADDR_V4MAPPED(&v6)) return reversedV4(v6.s6_addr + 12);
  return reversedV6(v6.s6_addr);
}

std::string reverseName(std::string_view ip) {
  std::string reversed = reversedAddress(ip);
  if (reversed.empty()) return {};
  // 32 nibbles: 63 characters; four octets at most 15.
  return reversed + (reversed.size() > 15 ? ".ip6.arpa" : ".in-addr.arpa");
}

std::string_view statusName(Status status) {
  switch (status) {
    case Status::Ok:
      return "ok";
    case Status::NxDomain:
      return "nxdomain";
    case Status::NoData:
      return "nodata";
    case Status::ServFail:
      return "servfail";
    case Status::Refused:
      return "refused";
    case Status::FormErr:
      return "formerr";
    case Status::Timeout:
      return "timeout";
    case Status::BadName:
      return "bad_name";
    case Status::LocalError:
      return "local_error";
    case Status::Other:
      return "other";
  }
  return "other";
}

std::string_view typeName(Type type) {
  switch (type) {
    case Type::A:
      return "A";
    case Type::AAAA:
      return "AAAA";
    case Type::PTR:
      return "PTR";
    case Type::MX:
      return "MX";
    case Type::TXT:
      return "TXT";
  }
  return "?";
}

}  // namespace spamgate::dns
