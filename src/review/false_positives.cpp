#include "review/false_positives.h"

#include <algorithm>

namespace spamgate::review {

namespace {

void addAuthPasses(const log::Decision& d, std::vector<std::string>& why) {
  for (const auto& s : d.symbols) {
    if (s.name == "DKIM_PASS" || s.name == "DMARC_PASS")
      why.push_back(s.detail.empty() ? s.name : s.name + " " + s.detail);
  }
}

}  // namespace

void FalsePositiveFinder::add(const Record& r) {
  if (!filter_.window.contains(r.time_ms)) return;
  if (r.action == "accept" || r.action == "tag") ++accepted_by_ip_[std::string(r.client_ip)];
  if (r.action == "reject" && filter_.matches(r)) rejections_.push_back(toDecision(r));
}

std::vector<FalsePositive> FalsePositiveFinder::finish() const {
  std::vector<FalsePositive> out;
  for (const auto& d : rejections_) {
    std::vector<std::string> why;
    addAuthPasses(d, why);
    if (const auto it = accepted_by_ip_.find(d.client_ip); it != accepted_by_ip_.end()) {
      why.push_back("client " + d.client_ip + " also had mail accepted or tagged (" +
                    std::to_string(it->second) + ")");
    }
    if (!why.empty()) out.push_back({d, std::move(why)});
  }
  std::stable_sort(out.begin(), out.end(), [](const FalsePositive& a, const FalsePositive& b) {
    return a.decision.time_ms < b.decision.time_ms;
  });
  return out;
}

}  // namespace spamgate::review
