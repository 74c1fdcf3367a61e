#include "checks/dnsbl.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "dns/names.h"
#include "dns/resolver.h"

namespace spamgate::checks {

namespace {

using dns::Status;

constexpr uint32_t kLoopbackNet = 0x7f000000;  // 127.0.0.0/8: where listings live
constexpr uint32_t kErrorNet = 0x7fffff00;     // 127.255.255.0/24: DNSBL error answers

bool inNet(uint32_t code, uint32_t net, unsigned prefix) {
  const uint32_t mask = ~uint32_t{0} << (32 - prefix);
  return (code & mask) == net;
}

// A weight as an operator wrote it: "10", "2.5", "-5".
std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string codeList(std::vector<uint32_t> codes) {
  std::sort(codes.begin(), codes.end());
  codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
  std::string text;
  for (auto code : codes) {
    text += (text.empty() ? "" : ",") + dnsblCodeText(code);
  }
  return text;
}

// What one zone's answer says, and the running total over the zones.
struct Tally {
  std::vector<policy::Symbol> symbols;
  double weight = 0;                    // summed weights of the listed zones
  const Dnsbl::Zone* top = nullptr;     // the listed DNSBL zone of largest (positive) weight
  const Dnsbl::Zone* failed = nullptr;  // a zone that did not answer
};

void countAnswer(const Dnsbl::Zone& zone, const std::vector<std::string>& records, Tally& tally) {
  std::vector<uint32_t> listed;
  std::vector<std::string> errors;
  for (const auto& record : records) {
    auto code = parseDnsblCode(record);
    if (!code || !inNet(*code, kLoopbackNet, 8) || inNet(*code, kErrorNet, 24)) {
      errors.push_back(record);
    } else if (zone.codes.empty() || zone.codes.matches(*code)) {
      listed.push_back(*code);
    }
  }
  const std::string prefix = "zone=" + zone.name + " code=";
  if (!listed.empty()) {
    const char* symbol = zone.weight < 0 ? "DNSWL_LISTED" : "DNSBL_LISTED";
    tally.symbols.push_back({symbol, zone.weight, prefix + codeList(std::move(listed))});
    tally.weight += zone.weight;
    if (zone.weight > 0 && (tally.top == nullptr || zone.weight > tally.top->weight)) {
      tally.top = &zone;
    }
  }
  if (!errors.empty()) {
    std::sort(errors.begin(), errors.end());
    std::string text;
    for (const auto& error : errors) {
      text += (text.empty() ? "" : ",") + error;
    }
    tally.symbols.push_back({"DNSBL_ZONE_ERROR", 0, prefix + text});
  }
}

void countZone(const Dnsbl::Zone& zone, const dns::Result& result, double tempfail_score,
               Tally& tally) {
  switch (result.status) {
    case Status::Ok:
      countAnswer(zone, result.records, tally);
      break;
    case Status::NxDomain:
    case Status::NoData:
      break;  // not listed
    default:
      tally.failed = &zone;
      tally.symbols.push_back(
          {"DNSBL_TEMPFAIL", tempfail_score,
           "zone=" + zone.name + " status=" + std::string(dns::statusName(result.status))});
      break;
  }
}

// The check's result from every zone's answer (`results` in zone order).
pipeline::CheckResult judge(const Dnsbl::Rules& rules, const std::string& ip,
                            const std::vector<dns::Result>& results) {
  Tally tally;
  for (std::size_t i = 0; i < rules.zones.size(); ++i) {
    countZone(rules.zones[i], results[i], rules.tempfail_score, tally);
  }
  pipeline::CheckResult out{std::move(tally.symbols), {}};
  if (!rules.score_only && tally.top != nullptr && tally.weight >= rules.reject_weight) {
    const auto& zone = tally.top->name;
    out.opinion = policy::Opinion{
        policy::Action::Reject,
        smtp::makeReply(554, "5.7.1",
                        "Service unavailable; client [" + ip + "] blocked using " + zone),
        "dnsbl: DNSBL_LISTED " + zone + ", weight " + number(tally.weight) +
            " >= " + number(rules.reject_weight),
        rules.at_rcpt};
  } else if (!rules.score_only && rules.tempfail_on_error && tally.failed != nullptr) {
    out.opinion = policy::Opinion{
        policy::Action::Tempfail,
        // At connect only 421 (and closing) is a proper temporary refusal (RFC 5321 3.1).
        smtp::makeReply(rules.at_rcpt ? 451 : 421, "4.4.3",
                        "Temporary DNS failure checking your address, try again later",
                        !rules.at_rcpt),
        "dnsbl: DNSBL_TEMPFAIL " + tally.failed->name, rules.at_rcpt};
  }
  return out;
}

Dnsbl::Zone makeZone(const config::DnsblZone& config) {
  auto name = dns::normalizeName(config.zone);
  // The longest query: 32 nibbles of an IPv6 address under the zone.
  std::string longest;
  for (int i = 0; i < 32; ++i) {
    longest += "0.";
  }
  if (!name || !dns::normalizeName(longest + *name)) {
    throw std::invalid_argument("dnsbl zone '" + config.zone + "': not a usable DNS name");
  }
  return Dnsbl::Zone{*name, config.weight, CodeFilter::parse(config.codes)};
}

}  // namespace

// The lookups of one check run. Answers are kept by zone index, so the symbols come out in
// configuration order whatever order the answers arrive in.
class Dnsbl::Pending final : public pipeline::PendingCheck {
 public:
  Pending(std::shared_ptr<const Rules> rules, std::string ip, pipeline::CheckDone done)
      : rules_(std::move(rules)),
        ip_(std::move(ip)),
        done_(std::move(done)),
        results_(rules_->zones.size()),
        remaining_(rules_->zones.size()) {}

  // The resolver never calls back inline, so `this` is complete before any answer.
  void lookUp(dns::Resolver& resolver, const std::string& reversed) {
    for (std::size_t i = 0; i < rules_->zones.size(); ++i) {
      lookups_.push_back(
          resolver.lookup(reversed + "." + rules_->zones[i].name, dns::Type::A,
                          [this, i](dns::Result result) { onAnswer(i, std::move(result)); }));
    }
  }

 private:
  // The last answer completes the check. `done` may destroy this object (and the lookups,
  // the calling one included, which the resolver allows): nothing touches `this` after it.
  void onAnswer(std::size_t zone, dns::Result result) {
    results_[zone] = std::move(result);
    if (--remaining_ > 0) return;
    auto done = std::move(done_);
    done(judge(*rules_, ip_, results_));
  }

  std::shared_ptr<const Rules> rules_;
  std::string ip_;
  pipeline::CheckDone done_;
  std::vector<dns::Result> results_;
  std::size_t remaining_;
  std::vector<std::unique_ptr<dns::Lookup>> lookups_;  // last: cancelled first
};

Dnsbl::Dnsbl(const config::Dnsbl& settings) {
  auto rules = std::make_shared<Rules>();
  for (const auto& zone : settings.zones) {
    rules->zones.push_back(makeZone(zone));
  }
  rules->score_only = settings.score_only;
  rules->reject_weight = settings.reject_weight;
  rules->at_rcpt = settings.reject_at == config::RejectAt::Rcpt;
  rules->tempfail_score = settings.tempfail_score;
  rules->tempfail_on_error = settings.tempfail_on_error;
  rules_ = std::move(rules);
}

std::unique_ptr<pipeline::PendingCheck> Dnsbl::start(pipeline::Stage,
                                                     const pipeline::Context& context,
                                                     pipeline::CheckDone done) {
  const bool allowlisted = context.facts != nullptr && context.facts->allowlisted;
  const std::string reversed = dns::reversedAddress(context.client_ip);
  if (rules_->zones.empty() || allowlisted || reversed.empty()) {
    done({});
    return nullptr;
  }
  if (context.resolver == nullptr) {
    dns::Result failed;
    failed.status = Status::LocalError;
    done(judge(*rules_, context.client_ip, std::vector<dns::Result>(rules_->zones.size(), failed)));
    return nullptr;
  }
  auto pending = std::make_unique<Pending>(rules_, context.client_ip, std::move(done));
  pending->lookUp(*context.resolver, reversed);
  return pending;
}

}  // namespace spamgate::checks
