// What the gateway records in the metrics, by event. Each call takes the registry to record
// in (the process's by default) and never fails; call from any thread.
//
// observe(decision) is the one place decisions are counted: it is called next to the
// decision log's write, with the same Decision, so the log and the metrics cannot disagree
// on actions, reasons, reply codes, sizes or backend errors.
#pragma once

#include <chrono>
#include <string_view>

#include "log/decision_log.h"
#include "metrics/registry.h"

namespace spamgate::metrics {

// A decision line: transactions by action, rejections and tempfails by reason group, replies
// by code, backend errors, and the message size of a transaction that received data.
void observe(const log::Decision& decision, Registry& registry = global());

// The reason's group (a label value of kReasons): the check before ':', "score" for a
// threshold, "other" for anything else.
std::string_view reasonGroup(std::string_view reason);

void connectionOpened(Registry& registry = global());
void connectionClosed(Registry& registry = global());
void connectionRefused(Registry& registry = global());  // by a connect-stage verdict
void tlsHandshake(std::string_view version, Registry& registry = global());  // "TLSv1.3"
void tlsFailure(Registry& registry = global());
void checkDone(std::string_view check, std::chrono::microseconds took, bool timed_out,
               Registry& registry = global());

}  // namespace spamgate::metrics
