// Readers for the sections of state that outlives a connection: [store], [greylist],
// [reputation] (issue 7). Internal to the config module.
#include "config/state_config.h"

#include <array>
#include <string_view>
#include <utility>

#include "config/values.h"

namespace spamgate::config::detail {

namespace {

constexpr uint64_t kMaxTtl = 400ull * 24 * 3600;  // a bit over a year

constexpr std::pair<std::string_view, StoreBackend> kStoreBackend[] = {
    {"embedded", StoreBackend::Embedded}, {"redis", StoreBackend::Redis}};

void readStore(TableReader section, Store& store) {
  section.readEnum("backend", store.backend, EnumNames<StoreBackend>(kStoreBackend));
  section.readString("path", [&](const std::string& path) {
    checkPath(path);
    store.path = path;
  });
  section.readUnsigned("map_megabytes", store.map_megabytes, 1, uint64_t{1} << 20);
  section.readString("redis", [&](const std::string& text) { store.redis = parseEndpoint(text); });
  section.readString("redis_password", store.redis_password);
  section.readUnsigned("redis_db", store.redis_db, 0, 1023);
  section.readMilliseconds("redis_timeout", store.redis_timeout, 0.01, 60);
  section.finish();
}

void readPrefixes(TableReader& section, unsigned& ipv4, unsigned& ipv6) {
  section.readUnsigned("ipv4_prefix", ipv4, 8, 32);
  section.readUnsigned("ipv6_prefix", ipv6, 16, 128);
}

void readGreylist(TableReader section, Greylist& greylist) {
  section.readBool("enabled", greylist.enabled);
  section.readSeconds("delay", greylist.delay, 0, kMaxTtl);
  section.readSeconds("retry_window", greylist.retry_window, 60, kMaxTtl);
  section.readSeconds("pass_lifetime", greylist.pass_lifetime, 60, kMaxTtl);
  readPrefixes(section, greylist.ipv4_prefix, greylist.ipv6_prefix);
  section.readBool("skip_good_reputation", greylist.skip_good_reputation);
  section.readBool("skip_spf_pass_known", greylist.skip_spf_pass_known);
  double score = 0;
  if (section.has("min_score")) {
    section.readDouble("min_score", score);
    greylist.min_score = score;
  }
  if (section.has("max_score")) {
    section.readDouble("max_score", score);
    greylist.max_score = score;
  }
  if (greylist.min_score && greylist.max_score && *greylist.max_score <= *greylist.min_score) {
    section.failAt("max_score", "must be greater than greylist.min_score");
  }
  if (greylist.delay >= greylist.retry_window) {
    section.failAt(section.has("delay") ? "delay" : "retry_window",
                   "greylist.delay must be shorter than greylist.retry_window");
  }
  section.finish();
}

void readReputation(TableReader section, Reputation& reputation) {
  section.readBool("enabled", reputation.enabled);
  section.readSeconds("half_life", reputation.half_life, 60, kMaxTtl);
  section.readDouble("min_decisions", reputation.min_decisions);
  section.readDouble("good_score", reputation.good_score);
  section.readDouble("bad_score", reputation.bad_score);
  readPrefixes(section, reputation.ipv4_prefix, reputation.ipv6_prefix);
  section.finish();
}

}  // namespace

void readStateSections(TableReader& root, Config& config) {
  readStore(root.table("store"), config.store);
  readGreylist(root.table("greylist"), config.greylist);
  readReputation(root.table("reputation"), config.reputation);
}

}  // namespace spamgate::config::detail
