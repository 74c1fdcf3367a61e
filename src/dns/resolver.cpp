#include "dns/resolver.h"

#include <event2/event.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "metrics/registry.h"

namespace spamgate::dns {

namespace {

Result withStatus(Status status) {
  Result result;
  result.status = status;
  return result;
}

uint32_t capped(uint32_t ttl, std::chrono::seconds cap) {
  return static_cast<uint32_t>(std::min<int64_t>(ttl, cap.count()));
}

}  // namespace

std::unique_ptr<Resolver> Resolver::create(event_base* base, Options options, std::string* error) {
  auto refuse = [error](std::string reason) {
    if (error != nullptr) *error = std::move(reason);
    return std::unique_ptr<Resolver>();
  };
  std::vector<Nameserver> servers;
  for (const std::string& text : options.nameservers) {
    std::optional<Nameserver> server = parseNameserver(text);
    if (!server) return refuse("dns: nameserver \"" + text + "\" is not ip:port");
    servers.push_back(std::move(*server));
  }
  if (base == nullptr) return refuse("dns: no event loop");
  if (servers.empty()) return refuse("dns: no nameserver");
  if (options.attempts == 0) return refuse("dns: attempts must be at least 1");
  if (options.timeout < std::chrono::milliseconds(1)) return refuse("dns: timeout under 1 ms");
  return std::unique_ptr<Resolver>(new Resolver(base, std::move(options), std::move(servers)));
}

Resolver::Resolver(event_base* base, Options options, std::vector<Nameserver> servers)
    : base_(base),
      options_(std::move(options)),
      cache_(options_.cache_max_entries, options_.cache_max_bytes) {
  transport_.base = base;
  transport_.servers = std::move(servers);
  transport_.timeout = options_.timeout;
  transport_.attempts = options_.attempts;
  transport_.stats = &stats_;
}

Resolver::~Resolver() {
  for (Lookup* lookup : lookups_) {
    lookup->resolver_ = nullptr;
    lookup->flight_ = nullptr;
    event_del(lookup->deliver_);
  }
  lookups_.clear();
  flights_.clear();  // closes the sockets of the exchanges still on the wire
}

std::unique_ptr<Lookup> Resolver::lookup(std::string_view name, Type type, Callback callback) {
  std::unique_ptr<Lookup> handle(new Lookup(this, base_, std::move(callback)));
  lookups_.insert(handle.get());
  ++stats_.lookups;
  metrics::global().add(metrics::id("dns_lookups_total"));
  std::optional<std::string> normalized = normalizeName(name);
  if (!normalized) {
    deliver(*handle, withStatus(Status::BadName));
    return handle;
  }
  std::string key = cacheKey(*normalized, type);
  if (std::optional<Result> hit = cache_.find(key, Cache::Clock::now())) {
    ++stats_.cache_hits;
    metrics::global().add(metrics::id("dns_cache_hits_total"));
    deliver(*handle, std::move(*hit));
    return handle;
  }
  Flight* flight = joinOrStart(key, Question{*normalized, type, 0});
  if (flight == nullptr) {
    deliver(*handle, withStatus(Status::LocalError));
    return handle;
  }
  flight->waiters.push_back(handle.get());
  handle->flight_ = flight;
  return handle;
}

Resolver::Flight* Resolver::joinOrStart(const std::string& key, const Question& question) {
  if (auto found = flights_.find(key); found != flights_.end()) {
    ++stats_.merged;
    return found->second.get();
  }
  if (flights_.size() >= options_.max_in_flight) return nullptr;
  std::vector<uint8_t> query = buildQuery(question, options_.edns_buffer);
  if (query.empty()) return nullptr;
  auto flight = std::make_unique<Flight>();
  flight->key = key;
  flight->exchange = std::make_unique<Exchange>(
      transport_, question, std::move(query),
      [this, key](Result result) { onFlightDone(key, std::move(result)); });
  Flight* started = flight.get();
  flights_.emplace(key, std::move(flight));
  ++stats_.queries;
  metrics::global().add(metrics::id("dns_queries_total"));
  started->exchange->start();  // reports from the loop only, never from here
  return started;
}

// Runs from the exchange's own callback; no caller code runs here: results are delivered
// through each waiter's deferred event.
void Resolver::onFlightDone(std::string key, Result result) {
  result.ttl = cappedTtl(result);
  cache_.store(key, result, Cache::Clock::now());
  auto node = flights_.extract(key);
  if (node.empty()) return;
  std::unique_ptr<Flight> flight = std::move(node.mapped());
  for (Lookup* waiter : flight->waiters) {
    waiter->flight_ = nullptr;
    deliver(*waiter, result);
  }
  // `flight` goes now, its exchange with it: the exchange touches nothing after this returns.
}

void Resolver::deliver(Lookup& lookup, Result result) {
  lookup.result_ = std::move(result);
  timeval now{0, 0};
  event_add(lookup.deliver_, &now);
}

void Resolver::cancel(Lookup& lookup) {
  lookups_.erase(&lookup);
  Flight* flight = lookup.flight_;
  lookup.flight_ = nullptr;
  if (flight == nullptr) return;
  std::erase(flight->waiters, &lookup);
  if (!flight->waiters.empty()) return;
  ++stats_.cancelled;
  std::string key = flight->key;
  flights_.erase(key);  // stops the exchange: its sockets close, it never reports
}

uint32_t Resolver::cappedTtl(const Result& result) const {
  switch (result.status) {
    case Status::Ok:
      return capped(result.ttl, options_.positive_ttl_cap);
    case Status::NxDomain:
    case Status::NoData:
      return capped(result.ttl, options_.negative_ttl_cap);
    case Status::ServFail:
    case Status::Refused:
      return capped(UINT32_MAX, options_.failure_ttl);
    default:
      return 0;  // timeouts and local trouble are not facts about the name
  }
}

Stats Resolver::stats() const {
  Stats stats = stats_;
  stats.cache_entries = cache_.size();
  stats.in_flight = flights_.size();
  return stats;
}

Lookup::Lookup(Resolver* resolver, event_base* base, Resolver::Callback callback)
    : resolver_(resolver),
      deliver_(event_new(base, -1, 0, &Lookup::onDeliverCb, this)),
      callback_(std::move(callback)) {
  if (deliver_ == nullptr) std::abort();  // out of memory: the callback could never run
}

Lookup::~Lookup() {
  if (resolver_ != nullptr) resolver_->cancel(*this);
  event_free(deliver_);
}

void Lookup::onDeliverCb(int, short, void* self) {
  auto* lookup = static_cast<Lookup*>(self);
  if (lookup->resolver_ != nullptr) {
    lookup->resolver_->lookups_.erase(lookup);
    lookup->resolver_ = nullptr;
  }
  Resolver::Callback callback = std::move(lookup->callback_);
  Result result = std::move(lookup->result_);
  if (callback) callback(std::move(result));  // may destroy the lookup and the resolver
}

}  // namespace spamgate::dns
