#include "server/runtime.h"

#include "checks/connection_limits.h"
#include "checks/dkim.h"
#include "checks/dmarc.h"
#include "checks/dnsbl.h"
#include "checks/fcrdns.h"
#include "checks/helo.h"
#include "checks/lists.h"
#include "checks/pregreet.h"
#include "checks/rate_limits.h"
#include "checks/rules.h"
#include "checks/spf.h"
#include "log/decision_log.h"

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
    checks.push_back(std::make_shared<checks::RateLimits>(c.rate_limits, shared.rates));
  }
  if (c.pregreet.enabled) checks.push_back(std::make_shared<checks::Pregreet>(c.pregreet));
  if (c.dnsbl.enabled && !c.dnsbl.zones.empty()) {
    checks.push_back(std::make_shared<checks::Dnsbl>(c.dnsbl));
  }
  if (c.fcrdns.enabled) checks.push_back(std::make_shared<checks::FcrdnsCheck>(c.fcrdns));
  if (c.helo.enabled) checks.push_back(std::make_shared<checks::HeloCheck>(c.helo));
  if (c.spf.enabled) checks.push_back(std::make_shared<checks::SpfCheck>(c.spf));
  if (c.dkim.enabled) checks.push_back(std::make_shared<checks::DkimCheck>(c.dkim));
  if (c.dmarc.enabled) checks.push_back(std::make_shared<checks::DmarcCheck>(c.dmarc));
  if (!c.rules.paths.empty()) checks.push_back(std::make_shared<checks::RulesCheck>(loadRules(c)));
  return checks;
}

}  // namespace

RuntimePtr buildRuntime(config::Snapshot config, SharedState& shared) {
  auto runtime = std::make_shared<Runtime>();
  if (config->tls.enabled()) runtime->tls = net::TlsServerContext::load(config->tls);
  runtime->checks = buildChecks(*config, shared);
  runtime->config = std::move(config);
  return runtime;
}

}  // namespace spamgate::server
