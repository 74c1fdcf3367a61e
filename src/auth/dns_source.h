// Where sender authentication gets its DNS answers: spamgate's asynchronous resolver in
// production, a fake serving a test suite's per-scenario zones in tests. Same contract as
// dns::Resolver::lookup(): the callback never runs inline, runs at most once, and never after
// the returned handle is destroyed.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "dns/types.h"

namespace spamgate::dns {
class Resolver;
}

namespace spamgate::auth {

class PendingQuery {
 public:
  virtual ~PendingQuery() = default;
};

class DnsSource {
 public:
  using Callback = std::function<void(dns::Result)>;
  virtual ~DnsSource() = default;
  virtual std::unique_ptr<PendingQuery> query(std::string_view name, dns::Type type,
                                              Callback callback) = 0;
};

// A DnsSource over a resolver, which must outlive it.
std::unique_ptr<DnsSource> resolverSource(dns::Resolver& resolver);

}  // namespace spamgate::auth
