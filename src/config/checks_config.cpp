// The connection-stage check sections. Scores are any finite number unless noted; every
// section rejects unknown keys through TableReader::finish().
#include "config/checks_config.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <string_view>
#include <utility>

#include "config/values.h"

namespace spamgate::config::detail {
namespace {

constexpr uint64_t kMaxRate = 1000000;
constexpr uint64_t kMaxCacheEntries = 10000000;

constexpr std::pair<std::string_view, RejectAt> kRejectAt[] = {{"connect", RejectAt::Connect},
                                                               {"rcpt", RejectAt::Rcpt}};

void readRejectAt(TableReader& section, RejectAt& out) {
  section.readEnum("reject_at", out, EnumNames<RejectAt>(kRejectAt));
}

void readPositive(TableReader& section, std::string_view key, double& out) {
  section.readDouble(key, out);
  if (section.has(key) && out <= 0) section.failAt(key, "must be greater than 0");
}

void readDns(TableReader section, Dns& dns) {
  std::set<std::string> seen;
  std::vector<Endpoint> nameservers;
  const bool present = section.readStringArray("nameservers", [&](const std::string& text) {
    Endpoint endpoint = parseNameserver(text);
    if (!seen.insert(endpoint.text()).second) throw ValueError("nameserver listed twice");
    nameservers.push_back(std::move(endpoint));
  });
  if (present) dns.nameservers = std::move(nameservers);
  section.readMilliseconds("timeout", dns.timeout, 0.001, 60);
  section.readUnsigned("retries", dns.retries, 0, 10);
  section.readUnsigned("cache_entries", dns.cache_entries, 1, kMaxCacheEntries);
  section.finish();
}

void readPaths(TableReader& section, std::string_view key, std::vector<std::string>& out) {
  std::vector<std::string> paths;
  const bool present = section.readStringArray(key, [&](const std::string& path) {
    checkPath(path);
    paths.push_back(path);
  });
  if (present) out = std::move(paths);
}

void readLists(TableReader section, Lists& lists) {
  section.readBool("enabled", lists.enabled);
  section.readBool("score_only", lists.score_only);
  readPaths(section, "allow", lists.allow);
  readPaths(section, "deny", lists.deny);
  section.readDouble("deny_score", lists.deny_score);
  readRejectAt(section, lists.reject_at);
  section.finish();
}

std::string lowercase(std::string text) {
  std::ranges::transform(text, text.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

void readZone(TableReader& section, DnsblZone& zone, std::set<std::string>& seen) {
  section.require("zone");
  section.readString("zone", [&](const std::string& text) {
    zone.zone = parseDnsZone(text);
    if (!seen.insert(lowercase(zone.zone)).second) throw ValueError("zone listed twice");
  });
  section.readDouble("weight", zone.weight);
  std::vector<std::string> codes;
  section.readStringArray("codes", [&](const std::string& code) {
    checkDnsblCode(code);
    codes.push_back(code);
  });
  zone.codes = std::move(codes);
  section.finish();
}

void readDnsbl(TableReader section, Dnsbl& dnsbl) {
  section.readBool("enabled", dnsbl.enabled);
  section.readBool("score_only", dnsbl.score_only);
  readPositive(section, "reject_weight", dnsbl.reject_weight);
  readRejectAt(section, dnsbl.reject_at);
  section.readDouble("tempfail_score", dnsbl.tempfail_score);
  section.readBool("tempfail_on_error", dnsbl.tempfail_on_error);
  std::set<std::string> seen;
  std::vector<DnsblZone> zones;
  const bool present = section.readTableArray(
      "zones", [&](TableReader& entry) { readZone(entry, zones.emplace_back(), seen); });
  if (present) dnsbl.zones = std::move(zones);
  section.finish();
}

void readFcrdns(TableReader section, Fcrdns& fcrdns) {
  section.readBool("enabled", fcrdns.enabled);
  section.readBool("reject", fcrdns.reject);
  section.readDouble("no_ptr_score", fcrdns.no_ptr_score);
  section.readDouble("mismatch_score", fcrdns.mismatch_score);
  section.readDouble("tempfail_score", fcrdns.tempfail_score);
  section.finish();
}

void readHelo(TableReader section, Helo& helo) {
  section.readBool("enabled", helo.enabled);
  section.readDouble("invalid_score", helo.invalid_score);
  section.readDouble("bare_ip_score", helo.bare_ip_score);
  section.readDouble("ip_mismatch_score", helo.ip_mismatch_score);
  section.readDouble("claims_us_score", helo.claims_us_score);
  section.readDouble("not_fqdn_score", helo.not_fqdn_score);
  section.finish();
}

void readPregreet(TableReader section, Pregreet& pregreet) {
  section.readBool("enabled", pregreet.enabled);
  section.readBool("enforce", pregreet.enforce);
  section.readMilliseconds("wait", pregreet.wait, 0, 30);
  section.readDouble("score", pregreet.score);
  section.finish();
}

void readRateLimits(TableReader section, RateLimits& limits) {
  section.readBool("enabled", limits.enabled);
  section.readBool("score_only", limits.score_only);
  section.readUnsigned("connections_per_minute", limits.connections_per_minute, 0, kMaxRate);
  section.readUnsigned("messages_per_minute", limits.messages_per_minute, 0, kMaxRate);
  section.readUnsigned("recipients_per_minute", limits.recipients_per_minute, 0, kMaxRate);
  section.finish();
}

constexpr std::pair<std::string_view, FailAction> kFailAction[] = {{"reject", FailAction::Reject},
                                                                   {"score", FailAction::Score}};
constexpr std::pair<std::string_view, SpfRejectAt> kSpfRejectAt[] = {{"mail", SpfRejectAt::Mail},
                                                                     {"rcpt", SpfRejectAt::Rcpt}};

void readSpf(TableReader section, Spf& spf) {
  section.readBool("enabled", spf.enabled);
  section.readEnum("fail_action", spf.fail_action, EnumNames<FailAction>(kFailAction));
  section.readEnum("permerror_action", spf.permerror_action, EnumNames<FailAction>(kFailAction));
  section.readBool("tempfail_on_error", spf.tempfail_on_error);
  section.readEnum("reject_at", spf.reject_at, EnumNames<SpfRejectAt>(kSpfRejectAt));
  section.readDouble("pass_score", spf.pass_score);
  section.readDouble("fail_score", spf.fail_score);
  section.readDouble("softfail_score", spf.softfail_score);
  section.readDouble("neutral_score", spf.neutral_score);
  section.readDouble("none_score", spf.none_score);
  section.readDouble("temperror_score", spf.temperror_score);
  section.readDouble("permerror_score", spf.permerror_score);
  section.finish();
}

void readDkim(TableReader section, Dkim& dkim) {
  section.readBool("enabled", dkim.enabled);
  section.readUnsigned("min_key_bits", dkim.min_key_bits, 512, 16384);
  section.readUnsigned("max_signatures", dkim.max_signatures, 1, 100);
  section.readDouble("pass_score", dkim.pass_score);
  section.readDouble("fail_score", dkim.fail_score);
  section.readDouble("temperror_score", dkim.temperror_score);
  section.readDouble("permerror_score", dkim.permerror_score);
  section.finish();
}

void readDmarc(TableReader section, Dmarc& dmarc) {
  section.readBool("enabled", dmarc.enabled);
  section.readEnum("reject_action", dmarc.reject_action, EnumNames<FailAction>(kFailAction));
  section.readBool("tempfail_on_error", dmarc.tempfail_on_error);
  section.readDouble("reject_score", dmarc.reject_score);
  section.readDouble("quarantine_score", dmarc.quarantine_score);
  section.readDouble("none_fail_score", dmarc.none_fail_score);
  section.readDouble("missing_from_score", dmarc.missing_from_score);
  section.readDouble("multiple_from_score", dmarc.multiple_from_score);
  section.finish();
}

void readRules(TableReader section, Rules& rules) {
  readPaths(section, "paths", rules.paths);
  section.readUnsigned("match_limit", rules.match_limit, 1000, 100000000);
  section.readUnsigned("depth_limit", rules.depth_limit, 100, 10000000);
  section.readBool("skip_bad_regex", rules.skip_bad_regex);
  section.finish();
}

void addFiles(const toml::table& root, std::string_view key, std::vector<FileKey>& out) {
  const toml::array* array = toml::at_path(root, key).as_array();
  if (array == nullptr) return;
  for (const toml::node& element : *array) {
    // Already validated by readLists(): every element is a string.
    out.push_back(
        FileKey{std::string(key), element.source().begin.line, element.value_or(std::string())});
  }
}

}  // namespace

void readCheckSections(TableReader& root, Config& config) {
  readDns(root.table("dns"), config.dns);
  readLists(root.table("lists"), config.lists);
  readDnsbl(root.table("dnsbl"), config.dnsbl);
  readFcrdns(root.table("fcrdns"), config.fcrdns);
  readHelo(root.table("helo"), config.helo);
  readPregreet(root.table("pregreet"), config.pregreet);
  readRateLimits(root.table("rate_limits"), config.rate_limits);
  readSpf(root.table("spf"), config.spf);
  readDkim(root.table("dkim"), config.dkim);
  readDmarc(root.table("dmarc"), config.dmarc);
  readRules(root.table("rules"), config.rules);
}

std::vector<FileKey> checkSectionFiles(const toml::table& root, const Config& config) {
  std::vector<FileKey> files;
  if (!config.lists.enabled) return files;
  addFiles(root, "lists.allow", files);
  addFiles(root, "lists.deny", files);
  return files;
}

}  // namespace spamgate::config::detail
