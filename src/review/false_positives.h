// The false-positive view: rejections that the evidence says may have been wrong. A
// rejection is listed when it has DKIM_PASS or DMARC_PASS, or when its client IP also had mail
// accepted (action accept or tag) in the period; each with the reasons it is listed.
// Accepted mail counts whatever the other filters say (only the period applies to it); the
// rejections are those that pass every filter.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "log/decision_log.h"
#include "review/filter.h"
#include "review/record.h"

namespace spamgate::review {

struct FalsePositive {
  log::Decision decision;
  std::vector<std::string>
      why;  // "DKIM_PASS example.org", "client 192.0.2.7 also had mail accepted or tagged (2)"
};

class FalsePositiveFinder {
 public:
  explicit FalsePositiveFinder(const Filter& filter) : filter_(filter) {}
  void add(const Record& record);
  std::vector<FalsePositive> finish() const;

 private:
  const Filter& filter_;
  std::vector<log::Decision> rejections_;
  std::unordered_map<std::string, uint64_t> accepted_by_ip_;
};

}  // namespace spamgate::review
