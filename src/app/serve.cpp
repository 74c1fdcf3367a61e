#include "app/serve.h"

#include <event2/event.h>
#include <event2/thread.h>

#include <csignal>
#include <memory>
#include <thread>
#include <vector>

#include "app/command.h"
#include "log/decision_log.h"
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
    for (unsigned i = 0, n = workerCount(*config); i < n; ++i) {
      workers_.push_back(
          std::make_unique<server::Worker>(runtime_, decisions_, shared_.connections));
    }
  }

  ~Server() {
    for (auto& w : watches_)
      event_free(w->signal);
    workers_.clear();
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

  void onStop() {
    if (stopping_) return;
    stopping_ = true;
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
  std::vector<std::unique_ptr<server::Worker>> workers_;
  std::vector<std::unique_ptr<Watch>> watches_;
  bool stopping_ = false;
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
