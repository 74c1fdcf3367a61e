// Runs the checks of one stage in parallel and reports once all have answered or the deadline
// passed. A check that misses the deadline is cancelled and counts as a tempfail opinion
// (CHECK_TIMEOUT), so that a slow dependency never turns into a pass.
// Destroying a StageRun cancels every check still running; `done` never runs afterwards.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "pipeline/check.h"

struct event_base;

namespace spamgate::pipeline {

struct CheckRecord {
  std::string check;
  CheckResult result;
  std::chrono::microseconds duration{0};
  bool timed_out = false;
};

struct StageOutcome {
  std::vector<CheckRecord> records;
};

class StageRun {
 public:
  using Done = std::function<void(StageOutcome)>;
  virtual ~StageRun() = default;
  // Returns nullptr when every check answered inline; `done` has then already run.
  static std::unique_ptr<StageRun> start(event_base* base, const Checks& checks, Stage stage,
                                         const Context& context, std::chrono::milliseconds deadline,
                                         Done done);
};

}  // namespace spamgate::pipeline
