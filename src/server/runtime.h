// What every session of a configuration generation shares, built once per load or reload in
// the main thread and then only read: the config snapshot, the TLS context and the checks.
#pragma once

#include <memory>

#include "config/config.h"
#include "net/tls.h"
#include "pipeline/check.h"
#include "store/connection_counts.h"

namespace spamgate::server {

struct Runtime {
  config::Snapshot config;
  std::shared_ptr<net::TlsServerContext> tls;  // null without [tls]
  pipeline::Checks checks;
};

using RuntimePtr = std::shared_ptr<const Runtime>;

// Throws std::runtime_error / config::ConfigError when a part cannot be built.
RuntimePtr buildRuntime(config::Snapshot config, const store::ConnectionCounts& counts);

}  // namespace spamgate::server
