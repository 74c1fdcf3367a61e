// learnFromDecision(): the writes of the learned reputation and of spfok (reputation.h).
#include <map>
#include <mutex>
#include <vector>

#include "checks/reputation.h"

namespace spamgate::checks {

namespace {

using reputation::Record;

void add(Record& to, const Record& from) {
  to.accept += from.accept;
  to.tag += from.tag;
  to.tempfail += from.tempfail;
  to.reject += from.reject;
  to.updated_ms = std::max(to.updated_ms, from.updated_ms);
}

// The writes of one key through one store: one round (get, decay, add, put; or a put alone
// for a plain record) in flight at a time; what arrives meanwhile waits for the next round, so
// that decisions close together are all counted. Writers are owned by one registry, never by
// their own callbacks: a store that drops a callback (RedisStore's destructor) then frees
// nothing, which would cancel that very request re-entrantly.
struct KeyWriter {
  store::StateStore& store;
  std::string key;
  std::chrono::milliseconds ttl;
  std::chrono::seconds half_life;  // 0: a plain record, `value`
  std::string value;
  Record adding;   // what the round in flight adds
  Record waiting;  // what the next round adds
  bool more = false;
  std::unique_ptr<store::PendingRequest> request;
  std::chrono::steady_clock::time_point started;

  void startRound();
  void finishRound();
};

// A store answers every request within its timeout (a fraction of a second): a round older than
// this belongs to a store that was destroyed first, and a new store may have its address.
constexpr auto kStaleRound = std::chrono::minutes(1);

struct Writers {
  std::mutex mutex;
  std::map<std::pair<const store::StateStore*, std::string>, std::unique_ptr<KeyWriter>> all;
  std::vector<std::unique_ptr<KeyWriter>> stale;
};

// Never destroyed: a writer whose store went before it answered stays here, inert and
// reachable, rather than touching a freed event_base at exit.
Writers& writers() {
  static auto* const instance = new Writers;
  return *instance;
}

void KeyWriter::startRound() {
  started = std::chrono::steady_clock::now();
  auto written = [this](const store::WriteResult&) { finishRound(); };
  if (half_life.count() == 0) {
    request = store.put(key, value, ttl, written);
    return;
  }
  request = store.get(key, [this, written](const store::ValueResult& got) {
    if (!got.error.empty()) return finishRound();  // lost: the statistic misses these
    const auto old = got.value ? reputation::decode(*got.value) : std::nullopt;
    Record now = reputation::decayed(old.value_or(Record{}), adding.updated_ms, half_life);
    add(now, adding);
    request = store.put(key, reputation::encode(now), ttl, written);  // ends this callback's
  });
}

// Starts the next round, or frees the writer (and the handle of the callback running this,
// which the store allows; nothing of the writer is touched afterwards).
void KeyWriter::finishRound() {
  auto& registry = writers();
  std::unique_ptr<KeyWriter> finished;
  {
    std::lock_guard lock(registry.mutex);
    if (!more) {
      auto it = registry.all.find({&store, key});
      finished = std::move(it->second);
      registry.all.erase(it);
    }
    adding = waiting;
    waiting = Record{};
    more = false;
  }
  if (!finished) startRound();
}

void write(store::StateStore& store, std::string key, std::chrono::milliseconds ttl,
           std::chrono::seconds half_life, const Record& delta, std::string value = "") {
  auto& registry = writers();
  std::lock_guard lock(registry.mutex);
  auto [it, fresh] = registry.all.try_emplace({&store, key});
  if (!fresh && std::chrono::steady_clock::now() - it->second->started > kStaleRound) {
    registry.stale.push_back(std::move(it->second));
    fresh = true;
  }
  if (!fresh) {
    add(it->second->waiting, delta);
    it->second->more = true;
    return;
  }
  it->second.reset(new KeyWriter{store,
                                 std::move(key),
                                 ttl,
                                 half_life,
                                 std::move(value),
                                 delta,
                                 Record{},
                                 false,
                                 nullptr,
                                 {}});
  it->second->startRound();  // its callbacks never run inline, so not under this lock
}

double Record::*fieldFor(std::string_view action) {
  if (action == "accept") return &Record::accept;
  if (action == "tag") return &Record::tag;
  if (action == "tempfail") return &Record::tempfail;
  if (action == "reject") return &Record::reject;
  return nullptr;
}

}  // namespace

int64_t epochMs(const WallClock& clock) {
  const auto now = clock ? clock() : std::chrono::system_clock::now();
  return std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
}

void learnFromDecision(store::StateStore& store, const config::Config& config, DecisionFacts facts,
                       WallClock clock) {
  // A deferral by greylisting says nothing of the client.
  if (facts.action == "tempfail" && facts.reason.starts_with("greylist:")) return;
  const auto field = fieldFor(facts.action);
  if (field == nullptr) return;
  Record delta;
  delta.*field = 1;
  delta.updated_ms = epochMs(clock);
  const auto& settings = config.reputation;
  const auto network = clientNetwork(facts.client_ip, settings.ipv4_prefix, settings.ipv6_prefix);
  if (settings.enabled && !network.empty()) {
    const auto ttl = std::chrono::milliseconds(8 * settings.half_life);
    write(store, reputation::ipKey(facts.client_ip), ttl, settings.half_life, delta);
    write(store, reputation::netKey(network), ttl, settings.half_life, delta);
  }
  const bool passed = facts.action == "accept" || facts.action == "tag";
  if (config.greylist.enabled && config.greylist.skip_spf_pass_known && passed &&
      !facts.spf_pass_domain.empty()) {
    write(store, reputation::spfKey(facts.spf_pass_domain), config.greylist.pass_lifetime,
          std::chrono::seconds(0), delta, "1");
  }
}

}  // namespace spamgate::checks
