#include "server/runtime.h"

#include "checks/connection_limits.h"

namespace spamgate::server {

RuntimePtr buildRuntime(config::Snapshot config, const store::ConnectionCounts& counts) {
  auto runtime = std::make_shared<Runtime>();
  if (config->tls.enabled()) runtime->tls = net::TlsServerContext::load(config->tls);
  if (config->connection_limits.enabled) {
    runtime->checks.push_back(std::make_shared<checks::ConnectionLimits>(
        counts, checks::ConnectionLimitsSettings{config->server.max_connections,
                                                 config->server.max_connections_per_ip}));
  }
  runtime->config = std::move(config);
  return runtime;
}

}  // namespace spamgate::server
