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
#include "store/lmdb_database.h"
#include "store/state_store.h"

struct event_base;

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
  // The embedded store's one file, open when [store] backend = "embedded".
  std::shared_ptr<store::LmdbDatabase> database;
};

// Opens the shared parts `config` asks for (the embedded store's file); throws
// std::runtime_error at start-up when it cannot.
void openSharedState(const config::Config& config, SharedState& shared);

// The state store of one event loop: an LmdbStore over `database` (embedded), or a RedisStore
// that starts connecting at once. Throws std::runtime_error when it cannot be made.
std::unique_ptr<store::StoreBackend> makeStore(
    event_base* base, const config::Store& config,
    const std::shared_ptr<store::LmdbDatabase>& database);

// Throws std::runtime_error / config::ConfigError when a part cannot be built (a TLS file, a
// list file), so that a reload with such a part keeps the running generation.
RuntimePtr buildRuntime(config::Snapshot config, SharedState& shared);

}  // namespace spamgate::server
