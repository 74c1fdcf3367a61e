// `spamgate reputation [-c CONFIG] IP [--forget]`: what the learned reputation knows about an
// address and its network (the records decayed to now: counts, bad share, and the symbol and
// score a connection would get), from the configured store: the embedded LMDB file (opened
// beside a running spamgate, LMDB allows that) or Redis. --forget erases both records.
// Exit status 1 when the store cannot be opened or does not answer.
#include "checks/reputation.h"

#include <event2/event.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "app/command.h"
#include "config/config.h"
#include "server/runtime.h"
#include "store/lmdb_store.h"
#include "store/redis_store.h"

namespace spamgate::app {

namespace {

namespace rep = checks::reputation;

// The configured store on a private event loop, with blocking calls for a command line tool.
class StoreClient {
 public:
  explicit StoreClient(const config::Config& config) : base_(event_base_new()) {
    server::openSharedState(config, shared_);  // throws with the reason
    store_ = server::makeStore(base_, config.store, shared_.database);
    if (auto* redis = dynamic_cast<store::RedisStore*>(store_.get())) waitConnected(*redis, config);
  }
  ~StoreClient() {
    store_.reset();
    event_base_free(base_);
  }
  StoreClient(const StoreClient&) = delete;
  StoreClient& operator=(const StoreClient&) = delete;

  store::ValueResult get(const std::string& key) {
    return wait<store::ValueResult>([&](auto done) { return store_->get(key, std::move(done)); });
  }
  store::WriteResult erase(const std::string& key) {
    return wait<store::WriteResult>([&](auto done) { return store_->erase(key, std::move(done)); });
  }

 private:
  // Connecting, AUTH, SELECT and SCRIPT LOAD: a few round trips, each within the timeout.
  void waitConnected(const store::RedisStore& redis, const config::Config& config) {
    const auto limit = std::chrono::steady_clock::now() + 4 * config.store.redis_timeout;
    const timeval tick{0, 10000};
    while (!redis.connected() && std::chrono::steady_clock::now() < limit) {
      event_base_loopexit(base_, &tick);
      event_base_dispatch(base_);
    }
    if (!redis.connected()) {
      throw std::runtime_error("store: redis " + config.store.redis.text() + ": " +
                               (redis.lastError().empty() ? "no answer" : redis.lastError()));
    }
  }

  // Runs the loop until the request answers (the store's own timeouts bound it).
  template <typename Result, typename Start>
  Result wait(Start start) {
    std::optional<Result> result;
    auto request = start([&](Result r) { result = std::move(r); });
    while (!result)
      event_base_loop(base_, EVLOOP_ONCE);
    return *result;
  }

  event_base* base_;
  server::SharedState shared_;
  std::unique_ptr<store::StateStore> store_;
};

std::string utc(int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  return std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm) ? text : "?";
}

std::string describe(const rep::Record& r, const std::vector<policy::Symbol>& symbols) {
  char text[200];
  std::snprintf(text, sizeof text,
                "%.1f decisions (%.1f accepted, %.1f tagged, %.1f tempfailed, %.1f rejected), "
                "%.0f%% bad",
                r.total(), r.accept, r.tag, r.tempfail, r.reject, r.badShare() * 100);
  std::string out = text;
  for (const auto& symbol : symbols) {
    std::snprintf(text, sizeof text, " -> %s %.2f", symbol.name.c_str(), symbol.score);
    out += text;
  }
  return out + (symbols.empty() ? " -> no symbol" : "");
}

// Prints one record; false when the store did not answer.
bool show(StoreClient& client, const config::Reputation& settings, const std::string& key,
          bool network, int64_t now_ms) {
  const auto got = client.get(key);
  if (!got.error.empty()) {
    std::cerr << "spamgate: " << key << ": " << got.error << "\n";
    return false;
  }
  const auto record = got.value ? rep::decode(*got.value) : std::nullopt;
  if (!record) {
    std::cout << key << ": " << (got.value ? "unreadable: " + *got.value : "nothing known") << "\n";
    return true;
  }
  const auto now = rep::decayed(*record, now_ms, settings.half_life);
  const auto symbols =
      network ? rep::judge(settings, std::nullopt, now) : rep::judge(settings, now, std::nullopt);
  std::cout << key << ": " << describe(now, symbols) << "; last decision "
            << utc(record->updated_ms) << "\n";
  return true;
}

int reputation(const std::string& config_path, const std::string& ip, bool forget) {
  const config::Snapshot config =
      config_path.empty() ? config::defaults() : config::load(config_path);
  const auto& settings = config->reputation;
  const auto network = checks::clientNetwork(ip, settings.ipv4_prefix, settings.ipv6_prefix);
  if (network.empty()) {
    std::cerr << "spamgate: not an IP address: " << ip << "\n";
    return 1;
  }
  if (config->store.backend == config::StoreBackend::Embedded &&
      !std::filesystem::exists(config->store.path)) {
    std::cout << config->store.path << " does not exist yet: nothing known\n";
    return 0;  // opening it would create it
  }
  StoreClient client(*config);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string keys[] = {rep::ipKey(ip), rep::netKey(network)};
  bool ok = show(client, settings, keys[0], false, now_ms);
  ok = show(client, settings, keys[1], true, now_ms) && ok;
  if (!forget) return ok ? 0 : 1;
  for (const auto& key : keys) {
    const auto erased = client.erase(key);
    if (!erased.error.empty()) {
      std::cerr << "spamgate: " << key << ": " << erased.error << "\n";
      ok = false;
    } else {
      std::cout << "erased " << key << "\n";
    }
  }
  return ok ? 0 : 1;
}

}  // namespace

Command addReputationCommand(CLI::App& app) {
  struct Options {
    std::string config_path;
    std::string ip;
    bool forget = false;
  };
  auto options = std::make_shared<Options>();
  auto* cli = app.add_subcommand(
      "reputation", "Show what the learned reputation knows about an address and its network");
  cli->add_option("-c,--config", options->config_path, "Configuration file (TOML)");
  cli->add_option("ip", options->ip, "The client address")->required();
  cli->add_flag("--forget", options->forget, "Erase the address's and its network's records");
  return {cli,
          [options] { return reputation(options->config_path, options->ip, options->forget); }};
}

}  // namespace spamgate::app
