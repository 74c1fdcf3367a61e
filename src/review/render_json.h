// The views as one JSON document each (src/log/json.h's writer), ending in a newline. Every
// document has "view", "lines" (non-empty lines read), "skipped_lines" (of those, not
// decisions) and "period" ({"since", "until"}: log times, or null when open).
#pragma once

#include <string>
#include <vector>

#include "log/decision_log.h"
#include "review/false_positives.h"
#include "review/review.h"
#include "review/summary.h"

namespace spamgate::review {

// "actions"/"events": counts by name; "rejections": [{reason, check, count, share}];
// "top_ips", "top_sender_domains": [{ip|domain, count, rejected}]; "top_rules": [{rule,
// count, rejected, share_of_rejections}]; "hours": [{hour, total, accept, ..., other}]. A
// share is a fraction (0..1).
std::string summaryJson(const Summary& summary, const Meta& meta);
// "decisions": [{time, id, ip, from (null: none), action, score, reason}]
std::string listJson(const std::vector<log::Decision>& decisions, const Meta& meta);
// "decision": the log line's object (symbols sorted by score, highest first)
std::string explainJson(const log::Decision& decision, const Meta& meta);
// "decisions": [{time, id, ip, from, score, reason, why: [...]}]
std::string falsePositivesJson(const std::vector<FalsePositive>& found, const Meta& meta);

}  // namespace spamgate::review
