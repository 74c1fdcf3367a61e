#include "review/summary.h"

#include <algorithm>

#include "base/ascii.h"
#include "review/time_window.h"

namespace spamgate::review {

namespace {

std::size_t eventIndex(std::string_view event) {
  for (std::size_t i = 0; i + 1 < kEventNames.size(); ++i) {
    if (kEventNames[i] == event) return i;
  }
  return kEventNames.size() - 1;
}

bool isScoreReason(std::string_view reason) {
  return reason.starts_with("score ") && reason.find(" >= reject_score") != std::string_view::npos;
}

int64_t hourOf(int64_t ms) {
  return (ms >= 0 ? ms : ms - (kHourMs - 1)) / kHourMs * kHourMs;
}

}  // namespace

std::size_t actionIndex(std::string_view action) {
  for (std::size_t i = 0; i + 1 < kActionCount; ++i) {
    if (kActionNames[i] == action) return i;
  }
  return kActionCount - 1;
}

ReasonGroup groupReason(std::string_view reason) {
  if (isScoreReason(reason)) return {"score", "score >= reject_score"};
  const auto colon = reason.find(':');
  return {
      std::string(colon == std::string_view::npos ? std::string_view{} : reason.substr(0, colon)),
      std::string(reason)};
}

void SummaryBuilder::count(Tallies& tallies, std::string_view key, bool rejected) {
  auto it = tallies.find(key);
  if (it == tallies.end()) it = tallies.emplace(std::string(key), Tally{}).first;
  ++it->second.count;
  it->second.rejected += rejected ? 1 : 0;
}

void SummaryBuilder::countDomain(const Record& r, bool rejected) {
  if (!r.has_mail) return;
  if (r.mail_from.empty()) return count(domains_, "<>", rejected);
  const auto at = r.mail_from.rfind('@');
  const auto domain = at == std::string_view::npos ? r.mail_from : r.mail_from.substr(at + 1);
  scratch_.assign(domain);
  for (char& c : scratch_)
    c = base::asciiLower(c);
  count(domains_, scratch_, rejected);
}

void SummaryBuilder::countRules(const Record& r, bool rejected) {
  for (std::size_t i = 0; i < r.symbols.size(); ++i) {
    const auto name = r.symbols[i].name;
    const auto seen = std::find_if(r.symbols.begin(), r.symbols.begin() + static_cast<long>(i),
                                   [&](const SymbolView& s) { return s.name == name; });
    if (seen == r.symbols.begin() + static_cast<long>(i)) count(rules_, name, rejected);
  }
}

void SummaryBuilder::add(const Record& r) {
  const std::size_t action = actionIndex(r.action);
  const bool rejected = action == kReject;
  if (totals_.decisions == 0 || r.time_ms < totals_.first_ms) totals_.first_ms = r.time_ms;
  if (totals_.decisions == 0 || r.time_ms > totals_.last_ms) totals_.last_ms = r.time_ms;
  ++totals_.decisions;
  ++totals_.actions[action];
  ++totals_.events[eventIndex(r.event)];
  if (rejected) {
    count(reasons_, isScoreReason(r.reason) ? "score >= reject_score" : r.reason, true);
  }
  if (!r.client_ip.empty()) count(ips_, r.client_ip, rejected);
  countDomain(r, rejected);
  countRules(r, rejected);
  ++hours_[hourOf(r.time_ms)][action];
}

std::vector<Ranked> SummaryBuilder::rank(const Tallies& tallies, std::size_t top) {
  std::vector<Ranked> out;
  out.reserve(tallies.size());
  for (const auto& [name, tally] : tallies)
    out.push_back({name, tally.count, tally.rejected, {}});
  const auto order = [](const Ranked& a, const Ranked& b) {
    return a.count != b.count ? a.count > b.count : a.name < b.name;
  };
  const std::size_t keep = std::min(top, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<long>(keep), out.end(), order);
  out.resize(keep);
  return out;
}

Summary SummaryBuilder::finish(std::size_t top) const {
  Summary s = totals_;
  s.reasons = rank(reasons_, top);
  for (auto& reason : s.reasons)
    reason.check = groupReason(reason.name).check;
  s.ips = rank(ips_, top);
  s.domains = rank(domains_, top);
  s.rules = rank(rules_, top);
  for (const auto& [hour, actions] : hours_)
    s.hours.push_back({hour, actions});
  return s;
}

}  // namespace spamgate::review
