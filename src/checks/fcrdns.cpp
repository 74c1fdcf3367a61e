#include "checks/fcrdns.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "checks/ip_address.h"
#include "dns/resolver.h"

namespace spamgate::checks {

namespace {

constexpr std::size_t kMaxAddressesShown = 4;  // per PTR name, in the mismatch detail
constexpr std::size_t kMaxDetail = 512;

enum class Failure { NoPtr, Mismatch, Tempfail };  // index into kSymbols

// NXDOMAIN and NODATA say "no such record"; everything else but Ok is DNS trouble. BadName is
// a definite no as well: the name can never resolve.
bool isNegative(dns::Status status) {
  return status == dns::Status::NxDomain || status == dns::Status::NoData ||
         status == dns::Status::BadName;
}

policy::Opinion refusal(Failure failure, const std::string& symbol) {
  const bool temporary = failure == Failure::Tempfail;
  policy::Opinion opinion;
  opinion.action = temporary ? policy::Action::Tempfail : policy::Action::Reject;
  opinion.reply = temporary ? smtp::makeReply(450, "4.7.25", "Reverse DNS temporarily unavailable")
                            : smtp::makeReply(550, "5.7.25", "Reverse DNS validation failed");
  opinion.reason = "fcrdns: " + symbol;
  opinion.at_rcpt = false;
  return opinion;
}

// The symbol of a failure with its configured score, and the refusal if configured.
pipeline::CheckResult failed(const config::Fcrdns& settings, Failure failure, std::string detail) {
  static const std::pair<const char*, double config::Fcrdns::*> kSymbols[] = {
      {"RDNS_NONE", &config::Fcrdns::no_ptr_score},
      {"RDNS_MISMATCH", &config::Fcrdns::mismatch_score},
      {"RDNS_TEMPFAIL", &config::Fcrdns::tempfail_score}};
  const auto& [name, score] = kSymbols[static_cast<std::size_t>(failure)];
  if (detail.size() > kMaxDetail) detail.resize(kMaxDetail);
  pipeline::CheckResult result;
  result.symbols.push_back(policy::Symbol{name, settings.*score, std::move(detail)});
  if (settings.reject) result.opinion = refusal(failure, name);
  return result;
}

// One check in progress: the PTR lookup, then the forward lookups of its names.
class FcrdnsRun final : public pipeline::PendingCheck {
 public:
  FcrdnsRun(const config::Fcrdns& settings, IpAddress client, pipeline::SessionFacts* facts,
            pipeline::CheckDone done)
      : settings_(settings), client_(client), facts_(facts), done_(std::move(done)) {}

  void begin(dns::Resolver& resolver, const std::string& client_ip);

 private:
  struct Forward {
    std::string name;
    std::unique_ptr<dns::Lookup> lookup;  // null once answered
    dns::Result result;
  };

  void onPtr(dns::Resolver& resolver, dns::Result result);
  void onForward(std::size_t index, dns::Result result);
  bool confirms(const dns::Result& result) const;
  void finishUnconfirmed();
  std::string mismatchDetail() const;
  void finish(pipeline::CheckResult result);

  config::Fcrdns settings_;
  IpAddress client_;
  pipeline::SessionFacts* facts_;
  pipeline::CheckDone done_;
  std::string ptr_name_;  // the reverse name asked
  std::unique_ptr<dns::Lookup> ptr_;
  std::vector<Forward> forwards_;
  std::size_t pending_ = 0;  // forward lookups not yet answered
};

void FcrdnsRun::begin(dns::Resolver& resolver, const std::string& client_ip) {
  ptr_name_ = dns::Resolver::reverseName(client_ip);
  ptr_ = resolver.lookup(ptr_name_, dns::Type::PTR, [this, &resolver](dns::Result result) {
    onPtr(resolver, std::move(result));
  });
}

// The PTR answer: start the forward lookups, or end the check.
void FcrdnsRun::onPtr(dns::Resolver& resolver, dns::Result result) {
  ptr_.reset();
  if (result.status != dns::Status::Ok) {
    const std::string status(dns::statusName(result.status));
    if (isNegative(result.status)) {
      return finish(
          failed(settings_, Failure::NoPtr, "no PTR for " + ptr_name_ + " (" + status + ")"));
    }
    return finish(failed(settings_, Failure::Tempfail, "ptr " + ptr_name_ + ": " + status));
  }
  for (std::string& name : result.records) {
    if (forwards_.size() == FcrdnsCheck::kMaxPtrNames) break;
    const bool seen = std::any_of(forwards_.begin(), forwards_.end(),
                                  [&](const Forward& forward) { return forward.name == name; });
    if (!seen) forwards_.push_back(Forward{std::move(name), nullptr, {}});
  }
  if (forwards_.empty()) {  // Ok promises a record; never wait for nothing
    return finish(failed(settings_, Failure::NoPtr, "no PTR for " + ptr_name_ + " (empty)"));
  }
  const dns::Type type = client_.v6 ? dns::Type::AAAA : dns::Type::A;
  pending_ = forwards_.size();
  // Lookups never call back inline, so starting them all before any answer is safe.
  for (std::size_t i = 0; i < forwards_.size(); ++i) {
    forwards_[i].lookup = resolver.lookup(forwards_[i].name, type, [this, i](dns::Result answer) {
      onForward(i, std::move(answer));
    });
  }
}

void FcrdnsRun::onForward(std::size_t index, dns::Result result) {
  Forward& forward = forwards_[index];
  forward.lookup.reset();
  forward.result = std::move(result);
  --pending_;
  if (confirms(forward.result)) {
    if (facts_ != nullptr) facts_->verified_name = forward.name;
    return finish({});
  }
  if (pending_ == 0) finishUnconfirmed();
}

bool FcrdnsRun::confirms(const dns::Result& result) const {
  if (result.status != dns::Status::Ok) return false;
  return std::any_of(result.records.begin(), result.records.end(),
                     [&](const std::string& record) { return parseIpAddress(record) == client_; });
}

// Every forward lookup answered and none confirmed: DNS trouble on any name makes it a
// tempfail (that name might have confirmed), else a mismatch.
void FcrdnsRun::finishUnconfirmed() {
  for (const Forward& forward : forwards_) {
    if (forward.result.status != dns::Status::Ok && !isNegative(forward.result.status)) {
      return finish(failed(
          settings_, Failure::Tempfail,
          "forward " + forward.name + ": " + std::string(dns::statusName(forward.result.status))));
    }
  }
  finish(failed(settings_, Failure::Mismatch, mismatchDetail()));
}

// "ptr=a.example forward=192.0.2.9,192.0.2.10; ptr=b.example forward=nxdomain"
std::string FcrdnsRun::mismatchDetail() const {
  std::string detail;
  for (const Forward& forward : forwards_) {
    if (!detail.empty()) detail += "; ";
    detail += "ptr=" + forward.name + " forward=";
    if (forward.result.status != dns::Status::Ok) {
      detail += dns::statusName(forward.result.status);
      continue;
    }
    const auto& records = forward.result.records;
    for (std::size_t i = 0; i < records.size() && i < kMaxAddressesShown; ++i) {
      detail += (i == 0 ? "" : ",") + records[i];
    }
    if (records.size() > kMaxAddressesShown) detail += ",...";
  }
  return detail;
}

// Cancels what is still running and reports. `done` may destroy this object (it normally
// does), so nothing may touch a member after it, nor the callers on the way back.
void FcrdnsRun::finish(pipeline::CheckResult result) {
  ptr_.reset();
  forwards_.clear();  // cancels the others; the running callback has been moved out already
  pipeline::CheckDone done = std::move(done_);
  done(std::move(result));
}

}  // namespace

std::unique_ptr<pipeline::PendingCheck> FcrdnsCheck::start(pipeline::Stage,
                                                           const pipeline::Context& context,
                                                           pipeline::CheckDone done) {
  const std::optional<IpAddress> client = parseIpAddress(context.client_ip);
  if (!client) {  // not from an IP socket: nothing to look up
    done({});
    return nullptr;
  }
  if (context.resolver == nullptr) {
    done(failed(settings_, Failure::Tempfail, "no resolver"));
    return nullptr;
  }
  auto run = std::make_unique<FcrdnsRun>(settings_, *client, context.facts, std::move(done));
  run->begin(*context.resolver, context.client_ip);
  return run;
}

}  // namespace spamgate::checks
