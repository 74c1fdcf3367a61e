// spamgate's asynchronous DNS resolver: A, AAAA, PTR, MX and TXT lookups on the worker's event
// loop. ldns builds and parses the packets; the resolver owns its sockets (UDP, TCP after a
// truncated answer, EDNS0 with a 1232-octet buffer). It asks the configured nameservers
// (recursive resolvers, normally) and never recurses itself.
//
// Contract:
// - lookup() never blocks and never calls back inline: the callback always runs later from
//   the loop, a cache hit included (deferred with a zero timer), so a caller may start a
//   lookup while holding state that the callback touches.
// - The callback runs exactly once, unless the Lookup handle is destroyed first: destroying
//   the handle cancels, and the callback never runs afterwards. The callback may destroy its
//   own handle, other handles, and the Resolver itself.
// - Every lookup ends by its deadline at the latest (attempts x timeout after its query went
//   out; a lookup that joined a query in flight ends with it, so sooner): Status::Timeout.
// - Results are cached for their TTL (capped by Options; negative answers per RFC 2308 for
//   min(SOA TTL, SOA MINIMUM)); SERVFAIL/REFUSED for Options::failure_ttl; timeouts and local
//   errors never. The cache is an LRU bounded by entries and bytes.
// - Identical lookups (same name and type) in flight share one query. Cancelling one waiter
//   leaves the others waiting; when the last waiter goes, the query stops.
// - Spoofing: every try has a random id and a fresh socket with a kernel-chosen source port;
//   answers from another address, or with another id or question, are dropped.
//
// Hazards: loop thread only. The event_base must outlive the Resolver and every Lookup. A
// Lookup may outlive its Resolver: the Resolver's destructor makes the handle inert (its
// callback never runs).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dns/cache.h"
#include "dns/exchange.h"
#include "dns/names.h"
#include "dns/options.h"
#include "dns/types.h"

struct event;
struct event_base;

namespace spamgate::dns {

class Lookup;

class Resolver {
 public:
  using Callback = std::function<void(Result)>;

  // Null (with the reason in `error`) when the options do not make a resolver: no or a
  // malformed nameserver, zero attempts, a timeout under 1 ms.
  static std::unique_ptr<Resolver> create(event_base* base, Options options,
                                          std::string* error = nullptr);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Starts (or joins, or answers from the cache) a lookup of `name` (with or without the
  // final dot, any case). Never null. A name that cannot be queried ends in Status::BadName.
  std::unique_ptr<Lookup> lookup(std::string_view name, Type type, Callback callback);

  // PTR query name of an IP: "2.0.0.127.in-addr.arpa", nibbles + ".ip6.arpa"; IPv4-mapped
  // IPv6 as IPv4. Empty when `ip` is not a numeric address.
  static std::string reverseName(std::string_view ip) { return dns::reverseName(ip); }

  Stats stats() const;
  const Options& options() const { return options_; }

 private:
  friend class Lookup;
  // One question on the wire and the lookups waiting for it.
  struct Flight {
    std::string key;
    std::unique_ptr<Exchange> exchange;
    std::vector<Lookup*> waiters;
  };

  Resolver(event_base* base, Options options, std::vector<Nameserver> servers);
  Flight* joinOrStart(const std::string& key, const Question& question);
  void onFlightDone(std::string key, Result result);
  void deliver(Lookup& lookup, Result result);
  void cancel(Lookup& lookup);
  uint32_t cappedTtl(const Result& result) const;

  event_base* base_;
  Options options_;
  Stats stats_;
  Transport transport_;
  Cache cache_;
  std::unordered_map<std::string, std::unique_ptr<Flight>> flights_;
  std::unordered_set<Lookup*> lookups_;  // live handles whose callback has not run
};

// A pending lookup. Destroying it cancels the lookup; see Resolver.
class Lookup {
 public:
  ~Lookup();
  Lookup(const Lookup&) = delete;
  Lookup& operator=(const Lookup&) = delete;

 private:
  friend class Resolver;
  Lookup(Resolver* resolver, event_base* base, Resolver::Callback callback);
  static void onDeliverCb(int fd, short what, void* self);

  Resolver* resolver_;
  Resolver::Flight* flight_ = nullptr;
  event* deliver_;
  Resolver::Callback callback_;
  Result result_;
};

}  // namespace spamgate::dns
