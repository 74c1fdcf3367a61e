// The summary view: counts over the decisions a Filter let through.
//
// Actions are counted in a fixed order (accept, tag, tempfail, reject, disconnect, none, then
// any other name as "other"); events as transaction, connection, release, other. Rejections
// (action reject) are grouped by reason: score-based reasons ("score 16.0 >= reject_score
// 15.0") become "score >= reject_score" (check "score"), others keep their text and their
// check is the text before ':' ("dnsbl: DNSBL_LISTED" -> "dnsbl"). Sender domains are the
// lower-cased part of mail_from after the last '@' ("<>" for the null sender; connection
// events have none). A rule counts once per decision that has its symbol; its share is of all
// rejections. Hours are UTC. Top lists are ordered by count, then name, and cut to `top`.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "review/record.h"

namespace spamgate::review {

constexpr std::size_t kActionCount = 7;
constexpr std::array<std::string_view, kActionCount> kActionNames = {
    "accept", "tag", "tempfail", "reject", "disconnect", "none", "other"};
constexpr std::size_t kReject = 3;
std::size_t actionIndex(std::string_view action);

constexpr std::array<std::string_view, 4> kEventNames = {"transaction", "connection", "release",
                                                         "other"};

using ActionCounts = std::array<uint64_t, kActionCount>;

struct ReasonGroup {
  std::string check;
  std::string reason;
};
ReasonGroup groupReason(std::string_view reason);

struct Ranked {
  std::string name;
  uint64_t count = 0;
  uint64_t rejected = 0;  // of those, rejections
  std::string check;      // reasons only
};

struct HourRow {
  int64_t hour_ms = 0;
  ActionCounts actions{};
};

struct Summary {
  uint64_t decisions = 0;
  int64_t first_ms = 0;  // the earliest and latest decision counted (0 when none)
  int64_t last_ms = 0;
  ActionCounts actions{};
  std::array<uint64_t, kEventNames.size()> events{};
  std::vector<Ranked> reasons;  // rejections by reason; count = rejected
  std::vector<Ranked> ips;
  std::vector<Ranked> domains;
  std::vector<Ranked> rules;  // rejected / actions[kReject] is the share of rejections
  std::vector<HourRow> hours;
};

class SummaryBuilder {
 public:
  void add(const Record& record);
  Summary finish(std::size_t top) const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Tally {
    uint64_t count = 0;
    uint64_t rejected = 0;
  };
  using Tallies = std::unordered_map<std::string, Tally, Hash, std::equal_to<>>;

  static void count(Tallies& tallies, std::string_view key, bool rejected);
  static std::vector<Ranked> rank(const Tallies& tallies, std::size_t top);
  void countDomain(const Record& record, bool rejected);
  void countRules(const Record& record, bool rejected);

  Summary totals_;
  Tallies reasons_, ips_, domains_, rules_;
  std::map<int64_t, ActionCounts> hours_;
  std::string scratch_;
};

}  // namespace spamgate::review
