// HELO/EHLO sanity as a check at the Helo stage, on the argument under decision
// (Context::helo). Pure and inline: the result is given before start() returns.
//
// Symbols, each with the HELO value (first 100 octets) as detail and its score from
// config::Helo; no opinion, operators combine the scores with the policy thresholds:
//   HELO_INVALID      neither a domain name nor an address literal (RFC 5321 4.1.2/4.1.3)
//   HELO_BARE_IP      an IPv4 or IPv6 address without brackets
//   HELO_IP_MISMATCH  an address literal that is not the client's address
//   HELO_CLAIMS_US    our own hostname (Context::hostname), in any case
//   HELO_NOT_FQDN     a domain name of a single label
// INVALID and BARE_IP stand alone; CLAIMS_US and NOT_FQDN can both apply (when our own
// hostname is a single label). A valid FQDN of someone else, or the client's own literal,
// gives no symbol.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "checks/ip_address.h"
#include "config/config.h"
#include "pipeline/check.h"

namespace spamgate::checks {

// The syntactic form of a HELO argument.
struct HeloForm {
  enum class Kind {
    Invalid,  // none of the below
    Domain,   // RFC 5321 Domain: LDH labels of 1-63 octets, no leading/trailing '-', <= 255
    Literal,  // "[192.0.2.1]" or "[IPv6:2001:db8::1]" (the tag in any case)
    BareIp,   // "192.0.2.1", "2001:db8::1"
  };
  Kind kind = Kind::Invalid;
  std::optional<IpAddress> address;  // Literal and BareIp
  bool fqdn = false;                 // Domain with at least two labels
};

// Classifies a HELO argument. Stricter than some MTAs on purpose (it only scores): '_', a
// trailing dot, an all-numeric last label ("1.2.3.999"), general address literals
// ("[tag:...]" other than IPv6) and anything over 255 octets are Invalid.
HeloForm classifyHelo(std::string_view helo);

class HeloCheck final : public pipeline::Check {
 public:
  explicit HeloCheck(config::Helo settings) : settings_(settings) {}

  std::string_view name() const override { return "helo"; }
  bool runsAt(pipeline::Stage stage) const override { return stage == pipeline::Stage::Helo; }
  // Calls `done` inline and returns nullptr.
  std::unique_ptr<pipeline::PendingCheck> start(pipeline::Stage stage,
                                                const pipeline::Context& context,
                                                pipeline::CheckDone done) override;

  // The symbols for `helo` from a client at `client_ip`, talking to `hostname` (ours).
  std::vector<policy::Symbol> evaluate(std::string_view helo, std::string_view client_ip,
                                       std::string_view hostname) const;

 private:
  config::Helo settings_;
};

}  // namespace spamgate::checks
