#include "server/worker.h"

#include <event2/event.h>
#include <unistd.h>

#include <stdexcept>

#include "dns/resolver.h"

namespace spamgate::server {

namespace {

constexpr unsigned kPoolThreads = 2;
constexpr std::size_t kPoolQueue = 4096;
constexpr auto kAfterDeadline = std::chrono::seconds(5);  // forced 421s get this to flush

// The [dns] section, or the system's resolv.conf when it names no nameserver.
std::shared_ptr<dns::Resolver> makeResolver(event_base* base, const config::Dns& config) {
  auto options = dns::Options::fromResolvConf();
  if (!config.nameservers.empty()) {
    options.nameservers.clear();
    for (const auto& endpoint : config.nameservers)
      options.nameservers.push_back(endpoint.text());
  }
  options.timeout = config.timeout;
  options.attempts = config.retries + 1;
  options.cache_max_entries = config.cache_entries;
  std::string error;
  auto resolver = dns::Resolver::create(base, std::move(options), &error);
  if (!resolver) throw std::runtime_error("dns: " + error);
  return resolver;
}

}  // namespace

Worker::Worker(RuntimePtr runtime, log::DecisionLog& decisions, SharedState& shared)
    : base_(event_base_new()),
      inbox_(std::make_unique<net::LoopInbox>(base_)),
      pool_(std::make_unique<net::WorkerPool>(kPoolThreads, kPoolQueue)),
      decisions_(decisions),
      counts_(shared.connections),
      runtime_(std::move(runtime)),
      store_(makeStore(base_, runtime_->config->store, shared.database)),
      deadline_(evtimer_new(base_, &Worker::onDeadline, this)) {
  relay_ = relay::makeRelay(base_, runtime_->config, *inbox_, *pool_);
  resolver_ = makeResolver(base_, runtime_->config->dns);
  bind(*runtime_->config);
}

Worker::~Worker() {
  join();
  sessions_.clear();
  listeners_.clear();
  relay_.reset();
  store_.reset();
  pool_.reset();  // before the inbox it posts to
  inbox_.reset();
  event_free(deadline_);
  event_base_free(base_);
}

void Worker::bind(const config::Config& config) {
  for (const auto& endpoint : config.server.listen) {
    listeners_.push_back(std::make_unique<net::Listener>(
        base_, endpoint, [this](int fd, const sockaddr* peer, int) { accept(fd, peer, false); }));
  }
  for (const auto& endpoint : config.server.listen_tls) {
    listeners_.push_back(std::make_unique<net::Listener>(
        base_, endpoint, [this](int fd, const sockaddr* peer, int) { accept(fd, peer, true); }));
  }
}

void Worker::start() {
  thread_ = std::thread([this] { event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::reload(RuntimePtr runtime) {
  inbox_->post([this, runtime = std::move(runtime)]() mutable { onReload(std::move(runtime)); });
}

void Worker::shutdown(std::chrono::seconds deadline) {
  inbox_->post([this, deadline] { onShutdown(deadline); });
}

void Worker::accept(int fd, const sockaddr* peer, bool implicit_tls) {
  if (stopping_ || (implicit_tls && !runtime_->tls)) {
    ::close(fd);
    return;
  }
  auto offload = [pool = pool_.get(), inbox = inbox_.get()](std::function<void()> work,
                                                            std::function<void()> done) {
    return pool->post(*inbox, std::move(work), std::move(done));
  };
  SessionEnv env{base_, runtime_, relay_, resolver_, offload, &decisions_, &counts_, store_.get()};
  auto session =
      std::make_unique<Session>(std::move(env), fd, peer, implicit_tls, [this](Session* closed) {
        sessions_.erase(closed);
        maybeExit();
      });
  auto* raw = session.get();
  sessions_.emplace(raw, std::move(session));
  raw->start();
}

void Worker::onReload(RuntimePtr runtime) {
  runtime_ = std::move(runtime);
  relay_ = relay::makeRelay(base_, runtime_->config, *inbox_, *pool_);
  try {
    resolver_ = makeResolver(base_, runtime_->config->dns);  // sessions keep the one they have
  } catch (const std::exception& e) {
    log::message(log::Level::Error, std::string(e.what()) + ": keeping the previous resolver");
  }
}

void Worker::onShutdown(std::chrono::seconds deadline) {
  stopping_ = true;
  listeners_.clear();
  std::vector<Session*> open;
  for (auto& [raw, session] : sessions_)
    open.push_back(raw);
  for (auto* raw : open) {
    if (sessions_.count(raw)) raw->shutdown();
  }
  const timeval tv{static_cast<time_t>(deadline.count()), 0};
  evtimer_add(deadline_, &tv);
  maybeExit();
}

void Worker::maybeExit() {
  if (stopping_ && sessions_.empty()) event_base_loopexit(base_, nullptr);
}

void Worker::onDeadline(int, short, void* self) {
  auto* worker = static_cast<Worker*>(self);
  if (worker->forced_) {  // clients that never read their 421
    event_base_loopbreak(worker->base_);
    return;
  }
  worker->forced_ = true;
  std::vector<Session*> open;
  for (auto& [raw, session] : worker->sessions_)
    open.push_back(raw);
  for (auto* raw : open) {
    if (worker->sessions_.count(raw)) raw->forceClose();
  }
  const timeval tv{static_cast<time_t>(kAfterDeadline.count()), 0};
  evtimer_add(worker->deadline_, &tv);
}

}  // namespace spamgate::server
