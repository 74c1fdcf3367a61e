// The DNS layer libspf2 sees during one run of an SPF evaluation (see spf.h): it answers from
// the evaluation's memo only, records what is missing, and applies the RFC 7208 corrections
// libspf2 lacks (record selection and syntax, void lookups, DNS errors). Internal to src/auth.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/results.h"
#include "dns/types.h"

extern "C" {
struct SPF_dns_server_struct;
}

namespace spamgate::auth::spf_internal {

using Question = std::pair<std::string, dns::Type>;  // lower-case name without final dot
using Memo = std::map<Question, dns::Result>;

inline constexpr int kMaxVoidLookups = 2;        // RFC 7208 4.6.4
inline constexpr int kMaxDnsTerms = 10;          // RFC 7208 4.6.4, across includes
inline constexpr std::size_t kMaxPtrNames = 10;  // RFC 7208 4.6.4: the rest are ignored

// Prefix of the names our rewritten a/mx/exists mechanisms look up: "x--spamgate-m." counts
// the lookup as a DNS mechanism; "z" means a "/0" prefix length (libspf2 rejects it): any
// address of the name matches, so the layer answers with the client's own address.
inline constexpr std::string_view kMarker = "x--spamgate-";

// The identity's domain can be checked (RFC 7208 4.3): a name of two labels or more, labels of
// 1..63 characters, 253 in all, not a domain literal "[...]".
bool isCheckableDomain(std::string_view name);
// A name libspf2 may look up: labels of 1..63 characters, 253 in all.
bool isLookupName(std::string_view name);
// "v=spf1" alone or followed by a space, case-insensitively (RFC 7208 4.5).
bool isSpfRecord(std::string_view text);
// The record as libspf2 should compile it, or nullopt with `problem` set for a record that is a
// permerror though libspf2 would take it (non-ASCII, bad domain-spec, ...).
// `client_v6` picks the prefix length of a/mx that applies.
std::optional<std::string> prepareRecord(std::string_view text, bool client_v6,
                                         std::string& problem);

// What one run's DNS layer found out besides the answers it gave.
struct RunReport {
  std::set<Question> missing;           // asked, not in the memo
  std::vector<std::string> dns_errors;  // "name TYPE: timeout"
  std::optional<SpfResult> forced;      // an error libspf2 would not see or map right
  std::string forced_detail;
  bool top_none = false;  // the checked domain has no SPF record
  std::string top_none_detail;
};

class SpfDnsLayer {
 public:
  // `client` is the address libspf2 matches, in text form (IPv4-mapped given as IPv4).
  SpfDnsLayer(const Memo& memo, std::string client, bool client_v6);
  ~SpfDnsLayer();
  SpfDnsLayer(const SpfDnsLayer&) = delete;
  SpfDnsLayer& operator=(const SpfDnsLayer&) = delete;

  SPF_dns_server_struct* server() { return server_; }
  const RunReport& report() const { return report_; }

  // Implementation, called from the C callbacks.
  struct Answer {
    enum Kind { Records, NoData, NxDomain, Error, Missing } kind;
    const dns::Result* result = nullptr;
  };
  Answer ask(const std::string& name, dns::Type type, bool tolerate_errors = false);
  void force(SpfResult result, std::string detail);
  bool countVoid(const std::string& name);  // false past the limit (then forced permerror)
  bool countDnsTerm();                      // false past the limit (then forced permerror)
  bool firstRecordLookup() { return record_lookups_++ == 0; }
  const std::string& client() const { return client_; }
  bool clientV6() const { return client_v6_; }
  std::set<std::string> ptr_names;  // names PTR answers gave: their lookups may fail quietly
  void setTopNone(std::string detail);

 private:
  const Memo& memo_;
  SPF_dns_server_struct* server_;
  RunReport report_;
  std::string client_;
  bool client_v6_;
  int void_lookups_ = 0;
  int dns_terms_ = 0;
  int record_lookups_ = 0;
};

}  // namespace spamgate::auth::spf_internal
