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
#include "checks/spf.h"

namespace spamgate::server {

namespace {

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
