// What every session of a configuration generation shares, built once per load or reload in
// the main thread and then only read: the config snapshot, the TLS context and the checks.
// The checks run in this order, which matters: the allow list first, so that the reputation
// checks after it see facts->allowlisted.
#pragma once

#include <memory>

#include "config/config.h"
#include "net/tls.h"
#include "pipeline/check.h"
#include "store/connection_counts.h"
#include "store/rate_store.h"

namespace spamgate::server {

struct Runtime {
  config::Snapshot config;
  std::shared_ptr<net::TlsServerContext> tls;  // null without [tls]
  pipeline::Checks checks;
};

using RuntimePtr = std::shared_ptr<const Runtime>;

// State that outlives configuration generations and is shared by every worker.
struct SharedState {
  store::ConnectionCounts connections;
  store::MemoryRateStore rates;
};

// Throws std::runtime_error / config::ConfigError when a part cannot be built (a TLS file, a
// list file), so that a reload with such a part keeps the running generation.
RuntimePtr buildRuntime(config::Snapshot config, SharedState& shared);

}  // namespace spamgate::server
