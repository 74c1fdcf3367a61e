// What sender authentication found for one transaction: SPF at MAIL, DKIM and DMARC at end of
// data. The checks fill these in; DMARC reads SPF and DKIM; the session turns them into the
// Authentication-Results header (RFC 8601) it adds for the backend. Plain values, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spamgate::auth {

// RFC 7208 section 2.6 results, named as in RFC 8601 ("pass", "softfail", ...).
enum class SpfResult { None, Neutral, Pass, Fail, SoftFail, TempError, PermError };
std::string_view spfResultName(SpfResult result);

struct SpfOutcome {
  SpfResult result = SpfResult::None;
  bool helo_identity = false;  // the HELO name was checked (MAIL FROM was <>)
  std::string identity;        // "user@example.com", or "postmaster@helo.example" for HELO
  std::string domain;          // the domain checked: DMARC aligns it with the From domain
  std::string detail;          // for the operator: the mechanism or the error
};

// RFC 8601 section 2.7.1 results.
enum class DkimResult { None, Pass, Fail, Policy, Neutral, TempError, PermError };
std::string_view dkimResultName(DkimResult result);

struct DkimSignatureOutcome {
  DkimResult result = DkimResult::None;
  std::string domain;     // d=, lower case
  std::string selector;   // s=
  std::string algorithm;  // a=, "rsa-sha256", "ed25519-sha256", ...
  std::string identity;   // i=, may be empty
  std::string header_b;   // the first 8 characters of b= (RFC 6008 header.b)
  std::string detail;     // "body hash mismatch", "key too short (512 bits)", ...
};

enum class DmarcResult { None, Pass, Fail, TempError, PermError };
std::string_view dmarcResultName(DmarcResult result);

// The policy a DMARC record asks for (p=, or sp= for a subdomain).
enum class DmarcPolicy { None, Quarantine, Reject };
std::string_view dmarcPolicyName(DmarcPolicy policy);

struct DmarcOutcome {
  DmarcResult result = DmarcResult::None;
  std::string from_domain;                 // RFC 5322 From domain (header.from)
  std::string policy_domain;               // where the record was found (From or organizational)
  DmarcPolicy policy = DmarcPolicy::None;  // the policy that applies to from_domain
  bool sampled_out = false;                // failed, but pct= left this message out of the policy
  bool spf_aligned = false;
  bool dkim_aligned = false;
  std::string detail;
};

// One transaction's results; reset at each MAIL.
struct AuthFacts {
  std::optional<SpfOutcome> spf;
  bool dkim_checked = false;  // the DKIM check ran (an empty list then means dkim=none)
  std::vector<DkimSignatureOutcome> dkim;
  std::optional<DmarcOutcome> dmarc;
};

}  // namespace spamgate::auth
