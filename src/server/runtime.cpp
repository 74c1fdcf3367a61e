#include "server/runtime.h"

#include "base/durable_file.h"
#include "checks/connection_limits.h"
#include "checks/dkim.h"
#include "checks/dmarc.h"
#include "checks/dnsbl.h"
#include "checks/fcrdns.h"
#include "checks/greylist.h"
#include "checks/helo.h"
#include "checks/lists.h"
#include "checks/pregreet.h"
#include "checks/rate_limits.h"
#include "checks/reputation.h"
#include "checks/rules.h"
#include "checks/spf.h"
#include "log/decision_log.h"
#include "store/lmdb_store.h"
#include "store/redis_store.h"

namespace spamgate::server {

namespace {

// The rules files of the config, compiled; a set with errors is refused (at start-up: no
// start; on SIGHUP: the running set stays), with every error as FILE:LINE: message.
std::shared_ptr<const rules::RuleSet> loadRules(const config::Config& c) {
  rules::LoadReport report;
  auto rules = rules::loadRules(c.rules.paths, checks::rulesOptions(c.rules), report);
  if (!report.errors.empty()) {
    std::string text = "rules: " + std::to_string(report.errors.size()) + " error(s)";
    for (std::size_t i = 0; i < report.errors.size() && i < 20; ++i)
      text += "\n  " + report.errors[i].text();
    throw config::ConfigError(text);
  }
  std::size_t loaded = 0;
  for (const auto& [kind, count] : report.loaded)
    loaded += count;
  log::message(log::Level::Info, "rules: " + std::to_string(loaded) + " rules from " +
                                     std::to_string(report.files) + " files, " +
                                     std::to_string(report.warnings.size()) + " warnings");
  return rules;
}

pipeline::Checks buildChecks(const config::Config& c, SharedState& shared) {
  pipeline::Checks checks;
  if (c.connection_limits.enabled) {
    checks.push_back(std::make_shared<checks::ConnectionLimits>(
        shared.connections, checks::ConnectionLimitsSettings{c.server.max_connections,
                                                             c.server.max_connections_per_ip}));
  }
  if (c.lists.enabled) checks.push_back(std::make_shared<checks::Lists>(c.lists));
  if (c.rate_limits.enabled) {
    checks.push_back(std::make_shared<checks::RateLimits>(c.rate_limits));
  }
  if (c.reputation.enabled) {
    checks.push_back(std::make_shared<checks::ReputationCheck>(c.reputation));
  }
  if (c.pregreet.enabled) checks.push_back(std::make_shared<checks::Pregreet>(c.pregreet));
  if (c.dnsbl.enabled && !c.dnsbl.zones.empty()) {
    checks.push_back(std::make_shared<checks::Dnsbl>(c.dnsbl));
  }
  if (c.fcrdns.enabled) checks.push_back(std::make_shared<checks::FcrdnsCheck>(c.fcrdns));
  if (c.helo.enabled) checks.push_back(std::make_shared<checks::HeloCheck>(c.helo));
  if (c.spf.enabled) checks.push_back(std::make_shared<checks::SpfCheck>(c.spf));
  if (c.greylist.enabled) checks.push_back(std::make_shared<checks::Greylist>(c.greylist));
  if (c.dkim.enabled) checks.push_back(std::make_shared<checks::DkimCheck>(c.dkim));
  if (c.dmarc.enabled) checks.push_back(std::make_shared<checks::DmarcCheck>(c.dmarc));
  if (!c.rules.paths.empty()) checks.push_back(std::make_shared<checks::RulesCheck>(loadRules(c)));
  return checks;
}

}  // namespace

void openSharedState(const config::Config& config, SharedState& shared) {
  if (config.store.backend != config::StoreBackend::Embedded) return;
  std::string error;
  const auto slash = config.store.path.rfind('/');
  if (slash != std::string::npos && slash > 0 &&
      !base::makeDirs(config.store.path.substr(0, slash), error)) {
    throw std::runtime_error("store: " + error);
  }
  store::LmdbDatabase::Options options;
  options.path = config.store.path;
  options.map_size = config.store.map_megabytes * 1024 * 1024;
  shared.database = store::LmdbDatabase::open(options, &error);
  if (!shared.database) throw std::runtime_error("store: " + config.store.path + ": " + error);
}

// The embedded store over the shared LMDB file, or one Redis connection for this loop.
std::unique_ptr<store::StoreBackend> makeStore(event_base* base, const config::Store& config,
                                               const std::shared_ptr<store::LmdbDatabase>& db) {
  if (config.backend == config::StoreBackend::Embedded) {
    if (!db) throw std::runtime_error("store: the embedded database is not open");
    return std::make_unique<store::LmdbStore>(base, db);
  }
  store::RedisStore::Options options;
  options.host = config.redis.host;
  options.port = config.redis.port;
  options.password = config.redis_password;
  options.db = static_cast<int>(config.redis_db);
  options.connect_timeout = config.redis_timeout;
  options.request_timeout = config.redis_timeout;
  std::string error;
  auto redis = store::RedisStore::create(base, options, &error);
  if (!redis) throw std::runtime_error("store: redis " + config.redis.text() + ": " + error);
  return redis;
}

RuntimePtr buildRuntime(config::Snapshot config, SharedState& shared) {
  auto runtime = std::make_shared<Runtime>();
  if (config->tls.enabled()) runtime->tls = net::TlsServerContext::load(config->tls);
  runtime->checks = buildChecks(*config, shared);
  runtime->config = std::move(config);
  return runtime;
}

}  // namespace spamgate::server
