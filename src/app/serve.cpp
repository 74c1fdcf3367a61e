#include "app/serve.h"

#include <event2/event.h>
#include <event2/thread.h>

#include <csignal>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "app/command.h"
#include "log/decision_log.h"
#include "metrics/http_endpoint.h"
#include "quarantine/pruner.h"
#include "server/store_upkeep.h"
#include "server/worker.h"

namespace spamgate::app {

namespace {

config::Snapshot loadConfig(const std::string& path) {
  return path.empty() ? config::defaults() : config::load(path);
}

// Listeners, workers and the decision log path are set up once; a reload cannot move them.
void warnAboutRestartOnlyKeys(const config::Config& old, const config::Config& fresh) {
  auto texts = [](const std::vector<config::Endpoint>& endpoints) {
    std::vector<std::string> out;
    for (const auto& e : endpoints)
      out.push_back(e.text());
    return out;
  };
  if (texts(old.server.listen) != texts(fresh.server.listen) ||
      texts(old.server.listen_tls) != texts(fresh.server.listen_tls) ||
      old.server.workers != fresh.server.workers || old.log.decisions != fresh.log.decisions) {
    log::message(log::Level::Warning,
                 "server.listen, server.listen_tls, server.workers and log.decisions take "
                 "effect only after a restart");
  }
  auto store = [](const config::Config& c) {
    return std::to_string(static_cast<int>(c.store.backend)) + c.store.path + c.store.redis.text() +
           c.store.redis_password + std::to_string(c.store.redis_db);
  };
  if (store(old) != store(fresh)) {
    log::message(log::Level::Warning, "store.* takes effect only after a restart");
  }
  auto metrics_listen = [](const config::Config& c) {
    return c.metrics.listen ? c.metrics.listen->text() : std::string();
  };
  if (metrics_listen(old) != metrics_listen(fresh)) {
    log::message(log::Level::Warning, "metrics.listen takes effect only after a restart");
  }
}

constexpr auto kPruneInterval = std::chrono::minutes(10);

quarantine::PruneSettings pruneSettingsOf(const config::Config& config) {
  const auto& q = config.quarantine;
  return {q.dir, std::chrono::hours(24) * q.retention_days, q.max_megabytes * 1024 * 1024};
}

unsigned workerCount(const config::Config& config) {
  if (config.server.workers > 0) return config.server.workers;
  return std::max(1u, std::thread::hardware_concurrency());
}

class Server {
 public:
  Server(std::string path, config::Snapshot config)
      : path_(std::move(path)),
        decisions_(config->log.decisions),
        runtime_(server::buildRuntime(config, shared_)),
        base_(event_base_new()) {
    startMetrics(*config);
    server::openSharedState(*config, shared_);
    if (shared_.database) upkeep_ = std::make_unique<server::StoreUpkeep>(base_, shared_.database);
    for (unsigned i = 0, n = workerCount(*config); i < n; ++i) {
      workers_.push_back(std::make_unique<server::Worker>(runtime_, decisions_, shared_));
    }
  }

  ~Server() {
    for (auto& w : watches_)
      event_free(w->signal);
    workers_.clear();
    metrics_.reset();
    upkeep_.reset();
    if (shared_.database) shared_.database->sync();  // what the draining sessions wrote
    event_base_free(base_);
  }

  int run() {
    watch(SIGHUP, &Server::onReload);
    watch(SIGUSR1, &Server::onReopen);
    watch(SIGTERM, &Server::onStop);
    watch(SIGINT, &Server::onStop);
    for (auto& worker : workers_)
      worker->start();
    const auto& c = *runtime_->config;
    setPruneSettings(c);
    quarantine::Pruner pruner([this] { return pruneSettings(); }, kPruneInterval);
    log::message(log::Level::Info, "spamgate " SPAMGATE_VERSION " serving as " + c.server.hostname +
                                       " with " + std::to_string(workers_.size()) + " workers" +
                                       (c.source.empty() ? " (embedded defaults)" : ""));
    event_base_dispatch(base_);
    for (auto& worker : workers_)
      worker->join();
    log::message(log::Level::Info, "stopped");
    return 0;
  }

 private:
  using Handler = void (Server::*)();
  struct Watch {
    Server* server;
    Handler handler;
    event* signal;
  };

  void watch(int signal, Handler handler) {
    auto& w = *watches_.emplace_back(std::make_unique<Watch>(Watch{this, handler, nullptr}));
    w.signal = evsignal_new(base_, signal, &Server::onSignal, &w);
    evsignal_add(w.signal, nullptr);
  }

  static void onSignal(int, short, void* arg) {
    auto* w = static_cast<Watch*>(arg);
    (w->server->*(w->handler))();
  }

  void onReload() {
    try {
      auto runtime = server::buildRuntime(loadConfig(path_), shared_);
      warnAboutRestartOnlyKeys(*runtime_->config, *runtime->config);
      runtime_ = runtime;
      setPruneSettings(*runtime->config);
      for (auto& worker : workers_)
        worker->reload(runtime);
      log::message(log::Level::Info, "configuration reloaded from " + path_);
    } catch (const std::exception& e) {
      log::message(log::Level::Error, std::string("reload failed, keeping the running "
                                                  "configuration: ") +
                                          e.what());
    }
    decisions_.reopen();
  }

  void onReopen() { decisions_.reopen(); }

  // A bind failure is a start-up error; the loop is freed here, as no destructor will run.
  void startMetrics(const config::Config& config) {
    if (!config.metrics.listen) return;
    try {
      metrics_ = std::make_unique<metrics::HttpEndpoint>(base_, *config.metrics.listen);
    } catch (...) {
      event_base_free(base_);
      throw;
    }
  }

  // The pruner's thread reads them; reloads on the main thread replace them.
  void setPruneSettings(const config::Config& config) {
    std::lock_guard lock(prune_mutex_);
    prune_settings_ = pruneSettingsOf(config);
  }
  quarantine::PruneSettings pruneSettings() {
    std::lock_guard lock(prune_mutex_);
    return prune_settings_;
  }

  void onStop() {
    if (stopping_) return;
    stopping_ = true;
    upkeep_.reset();
    metrics_.reset();  // the loop ends once the signals and the endpoint are gone
    log::message(log::Level::Info, "shutting down");
    for (auto& worker : workers_)
      worker->shutdown(runtime_->config->server.timeouts.shutdown);
    for (auto& w : watches_)
      evsignal_del(w->signal);
  }

  std::string path_;
  server::SharedState shared_;
  log::DecisionLog decisions_;
  server::RuntimePtr runtime_;
  event_base* base_;
  std::unique_ptr<metrics::HttpEndpoint> metrics_;
  std::unique_ptr<server::StoreUpkeep> upkeep_;
  std::vector<std::unique_ptr<server::Worker>> workers_;
  std::vector<std::unique_ptr<Watch>> watches_;
  bool stopping_ = false;
  std::mutex prune_mutex_;
  quarantine::PruneSettings prune_settings_;
};

}  // namespace

int serve(const std::string& config_path) {
  evthread_use_pthreads();
  std::signal(SIGPIPE, SIG_IGN);
  Server server(config_path, loadConfig(config_path));
  return server.run();
}

Command addServeCommand(CLI::App& app) {
  auto config_path = std::make_shared<std::string>();
  auto* cli = app.add_subcommand("serve", "Run the gateway in the foreground (logs to stderr)");
  cli->add_option("-c,--config", *config_path,
                  "Configuration file (TOML); without it, the embedded defaults");
  return {cli, [config_path] { return serve(*config_path); }};
}

}  // namespace spamgate::app
