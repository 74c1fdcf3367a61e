#include "checks/reputation.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "base/ascii.h"
#include "checks/cidr.h"

namespace spamgate::checks {

namespace {

using pipeline::Stage;

constexpr double kGoodShare = 0.05;
constexpr double kBadShare = 0.5;

std::string describe(const reputation::Record& record) {
  std::array<char, 64> text{};
  std::snprintf(text.data(), text.size(), "%.1f decisions, %.0f%% bad", record.total(),
                record.badShare() * 100);
  return text.data();
}

// The two lookups of one check: answers in any order, `done` once both are in.
struct Lookup {
  config::Reputation settings;
  int64_t now_ms = 0;
  pipeline::CheckDone done;
  std::optional<reputation::Record> ip;
  std::optional<reputation::Record> network;
  std::string error;
  int answered = 0;

  void answer(std::optional<reputation::Record>& slot, const store::ValueResult& result) {
    if (!result.error.empty()) error = result.error;
    if (result.value) slot = reputation::decode(*result.value);
    if (slot) slot = reputation::decayed(*slot, now_ms, settings.half_life);
    if (++answered < 2) return;
    if (!error.empty()) {
      return done(pipeline::CheckResult{{{"REPUTATION_STORE_ERROR", 0, error}}, std::nullopt});
    }
    done(pipeline::CheckResult{reputation::judge(settings, ip, network), std::nullopt});
  }
};

class PendingLookup final : public pipeline::PendingCheck {
 public:
  std::unique_ptr<store::PendingRequest> ip;
  std::unique_ptr<store::PendingRequest> network;
};

}  // namespace

std::string clientNetwork(std::string_view ip, unsigned ipv4_prefix, unsigned ipv6_prefix) {
  auto address = parseIpAddress(ip);
  if (!address) return {};
  const unsigned bits = address->v6 ? 128 : 32;
  const unsigned prefix = std::min(address->v6 ? ipv6_prefix : ipv4_prefix, bits);
  for (unsigned i = 0; i < bits / 8; ++i) {
    const unsigned kept = prefix > i * 8 ? std::min(prefix - i * 8, 8u) : 0;
    address->octets[i] &= static_cast<uint8_t>(0xFF00u >> kept);
  }
  return CidrNetwork{*address, prefix}.text();
}

namespace reputation {

double Record::badShare() const {
  const double all = total();
  return all > 0 ? (reject + tempfail / 2 + tag / 2) / all : 0;
}

std::string ipKey(std::string_view ip) {
  return "rep:ip:" + std::string(ip);
}

std::string netKey(std::string_view network) {
  return "rep:net:" + std::string(network);
}

std::string spfKey(std::string_view domain) {
  std::string key = "spfok:";
  for (char c : domain)
    key += base::asciiLower(c);
  return key;
}

std::string encode(const Record& record) {
  std::array<char, 160> text{};
  std::snprintf(text.data(), text.size(), "v1 %.6g %.6g %.6g %.6g %lld", record.accept, record.tag,
                record.tempfail, record.reject, static_cast<long long>(record.updated_ms));
  return text.data();
}

// No address sends this much mail; a larger count (or inf) is not a record we wrote.
constexpr double kMaxCount = 1e15;

std::optional<Record> decode(std::string_view text) {
  if (!text.starts_with("v1 ")) return std::nullopt;
  Record record;
  const char* at = text.data() + 3;
  const char* end = text.data() + text.size();
  for (double* field : {&record.accept, &record.tag, &record.tempfail, &record.reject}) {
    const auto [next, error] = std::from_chars(at, end, *field);
    if (error != std::errc() || next == end || *next != ' ' || !(*field >= 0) ||
        *field > kMaxCount) {
      return std::nullopt;
    }
    at = next + 1;
  }
  const auto [next, error] = std::from_chars(at, end, record.updated_ms);
  if (error != std::errc() || next != end) return std::nullopt;
  return record;
}

Record decayed(const Record& record, int64_t now_ms, std::chrono::seconds half_life) {
  const auto half_ms = static_cast<double>(half_life.count()) * 1000;
  // In doubles: a stored time from a foreign writer must not overflow the subtraction.
  const double age = static_cast<double>(now_ms) - static_cast<double>(record.updated_ms);
  if (age <= 0 || half_ms <= 0) return record;
  const double factor = std::exp2(-age / half_ms);
  Record out = record;
  for (double* field : {&out.accept, &out.tag, &out.tempfail, &out.reject})
    *field *= factor;
  out.updated_ms = now_ms;
  return out;
}

std::vector<policy::Symbol> judge(const config::Reputation& settings,
                                  const std::optional<Record>& ip,
                                  const std::optional<Record>& network) {
  std::vector<policy::Symbol> symbols;
  if (ip && ip->total() >= settings.min_decisions) {
    const double share = ip->badShare();
    if (share <= kGoodShare && ip->accept >= settings.min_decisions) {
      symbols.push_back({"REPUTATION_GOOD", settings.good_score, describe(*ip)});
    } else if (share >= kBadShare) {
      symbols.push_back({"REPUTATION_BAD", settings.bad_score * share, describe(*ip)});
    }
  }
  if (network && network->total() >= settings.min_decisions && network->badShare() >= kBadShare) {
    symbols.push_back(
        {"REPUTATION_NET_BAD", settings.bad_score * network->badShare() / 2, describe(*network)});
  }
  return symbols;
}

}  // namespace reputation

ReputationCheck::ReputationCheck(config::Reputation settings, WallClock clock)
    : settings_(settings), clock_(std::move(clock)) {}

bool ReputationCheck::runsAt(Stage stage) const {
  return settings_.enabled && stage == Stage::Connect;
}

std::unique_ptr<pipeline::PendingCheck> ReputationCheck::start(Stage stage,
                                                               const pipeline::Context& context,
                                                               pipeline::CheckDone done) {
  const bool exempt = context.facts != nullptr && context.facts->allowlisted;
  const auto network =
      clientNetwork(context.client_ip, settings_.ipv4_prefix, settings_.ipv6_prefix);
  if (!runsAt(stage) || exempt || network.empty()) {
    done({});
    return nullptr;
  }
  if (context.state == nullptr) {
    done(pipeline::CheckResult{{{"REPUTATION_STORE_ERROR", 0, "no state store"}}, std::nullopt});
    return nullptr;
  }
  auto lookup = std::make_shared<Lookup>();
  lookup->settings = settings_;
  lookup->now_ms = epochMs(clock_);
  lookup->done = std::move(done);
  auto pending = std::make_unique<PendingLookup>();
  pending->ip =
      context.state->get(reputation::ipKey(context.client_ip), [lookup](store::ValueResult r) {
        auto keep = lookup;  // `done` may destroy the handle holding this function
        keep->answer(keep->ip, r);
      });
  pending->network =
      context.state->get(reputation::netKey(network), [lookup](store::ValueResult r) {
        auto keep = lookup;
        keep->answer(keep->network, r);
      });
  return pending;
}

}  // namespace spamgate::checks
