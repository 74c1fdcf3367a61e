// Local CIDR allow and deny lists as a check at the connect stage (Postfix check_client_access
// with cidr tables, postscreen_access_list). The list files named by [lists] are read when the
// check is built: at start-up and at each SIGHUP reload, so an edited list takes effect then.
//
// Results, for the client address (IPv4, IPv6, IPv4-mapped IPv6 as IPv4):
// - On an allow list: symbol LIST_ALLOW (score 0, detail "192.0.2.0/24 (allow.txt:3)") and
//   facts->allowlisted = true, so the reputation checks after this one skip their work. The
//   allow lists win over the deny lists.
// - Else on a deny list: symbol LIST_DENY (deny_score, same detail) and, unless score_only,
//   a Reject opinion 554 5.7.1 "Access denied" (the peer learns nothing of the lists; the
//   reason "lists: LIST_DENY 192.0.2.0/24 (deny.txt:7)" is for the log), given at each RCPT
//   when reject_at = "rcpt".
// - Else nothing.
// Always answers inline (start() returns nullptr).
//
// `enabled` is not looked at here: the composition root builds the check or not.
// Errors: the constructor throws CidrError (file:line) for an unreadable file or a bad line, so
// a reload with a broken list keeps the old configuration.
// Hazards: the built check is immutable; start() writes only the session's facts.
#pragma once

#include <memory>
#include <string_view>

#include "checks/cidr.h"
#include "config/config.h"
#include "pipeline/check.h"

namespace spamgate::checks {

class Lists final : public pipeline::Check {
 public:
  explicit Lists(const config::Lists& settings);

  std::string_view name() const override { return "lists"; }
  bool runsAt(pipeline::Stage stage) const override { return stage == pipeline::Stage::Connect; }
  std::unique_ptr<pipeline::PendingCheck> start(pipeline::Stage stage,
                                                const pipeline::Context& context,
                                                pipeline::CheckDone done) override;

  std::size_t allowEntries() const { return allow_.size(); }
  std::size_t denyEntries() const { return deny_.size(); }

 private:
  pipeline::CheckResult denied(const CidrSet::Match& match) const;

  config::Lists settings_;
  CidrSet allow_;
  CidrSet deny_;
};

}  // namespace spamgate::checks
