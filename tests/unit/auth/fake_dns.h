// A DnsSource for the sender-authentication tests: answers from a table the test fills in
// (a suite's per-scenario zones), from the event loop and never inline, as the resolver does.
// Names are matched case-insensitively, without a final dot. A name/type not in the table is
// NXDOMAIN if the name has no record of any type, else NODATA; `timeout()` names never answer
// until their deadline (status Timeout after `timeout_after`).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "auth/dns_source.h"

struct event_base;

namespace spamgate::test {

class FakeDns final : public auth::DnsSource {
 public:
  explicit FakeDns(event_base* base) : base_(base) {}

  void add(const std::string& name, dns::Type type, std::string record);
  // Every query of `name` for `type` gets `status` (ServFail, Timeout, ...).
  void fail(const std::string& name, dns::Type type, dns::Status status);
  std::chrono::milliseconds timeout_after{20};

  std::unique_ptr<auth::PendingQuery> query(std::string_view name, dns::Type type,
                                            Callback callback) override;

  // A DnsSource that forwards to this one, for a check that owns the source it is given (the
  // checks' AuthDnsFactory seam). This FakeDns must outlive it.
  std::unique_ptr<auth::DnsSource> lend();

  // Every query made, as "NAME TYPE", in order.
  const std::vector<std::string>& queries() const { return queries_; }

 private:
  dns::Result answer(const std::string& name, dns::Type type) const;

  event_base* base_;
  std::map<std::pair<std::string, dns::Type>, std::vector<std::string>> records_;
  std::map<std::pair<std::string, dns::Type>, dns::Status> failures_;
  std::vector<std::string> queries_;
};

}  // namespace spamgate::test
