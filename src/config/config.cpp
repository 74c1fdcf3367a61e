// Builds a Config from TOML: one read function per section, then the checks that span keys.
// Relative paths are kept as written; they resolve against the process working directory.
#include "config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>
#include <utility>

#include "config/checks_config.h"
#include "config/state_config.h"
#include "config/table_reader.h"
#include "config/values.h"

namespace spamgate::config {
namespace {

using detail::TableReader;
using detail::ValueError;

constexpr uint64_t kMaxTimeout = 86400;  // a day: anything longer is a typo, not a policy
constexpr uint64_t kMaxCount = 1000000;
constexpr std::size_t kMaxBanner = 200;  // leaves room for "220 hostname " in a 512-octet line
constexpr std::string_view kMaildirPrefix = "maildir:";

constexpr std::pair<std::string_view, BareLinefeed> kBareLinefeed[] = {
    {"normalize", BareLinefeed::Normalize}, {"reject", BareLinefeed::Reject}};
constexpr std::pair<std::string_view, ForwardClient> kForwardClient[] = {
    {"xclient", ForwardClient::Xclient},
    {"xforward", ForwardClient::Xforward},
    {"none", ForwardClient::None}};
constexpr std::pair<std::string_view, BackendTls> kBackendTls[] = {
    {"none", BackendTls::None},
    {"opportunistic", BackendTls::Opportunistic},
    {"required", BackendTls::Required}};
constexpr std::pair<std::string_view, TlsVersion> kTlsVersion[] = {{"1.0", TlsVersion::Tls1_0},
                                                                   {"1.1", TlsVersion::Tls1_1},
                                                                   {"1.2", TlsVersion::Tls1_2},
                                                                   {"1.3", TlsVersion::Tls1_3}};

// The name goes into the banner and EHLO reply, so a name we would reject in a file is not
// used either.
std::string systemHostname() {
  std::array<char, HOST_NAME_MAX + 1> buffer{};
  if (gethostname(buffer.data(), buffer.size() - 1) != 0) return "localhost";
  const std::string name = buffer.data();
  try {
    detail::checkHostname(name);
  } catch (const ValueError&) {
    return "localhost";
  }
  return name;
}

Config embeddedDefaults() {
  Config config;
  config.server.hostname = systemHostname();
  config.server.listen.push_back(Endpoint{"127.0.0.1", 2525});
  config.backend.maildir = "var/maildir";
  config.backend.helo_name = config.server.hostname;
  config.server.authserv_id = config.server.hostname;
  config.log.decisions = "var/decisions.jsonl";
  config.quarantine.dir = "var/quarantine";
  return config;
}

// Endpoints must be unique across listen and listen_tls: a second bind would fail at start-up
// with a less helpful message.
bool readEndpoints(TableReader& section, std::string_view key, std::vector<Endpoint>& out,
                   std::set<std::string>& seen) {
  std::vector<Endpoint> endpoints;
  const bool present = section.readStringArray(key, [&](const std::string& text) {
    Endpoint endpoint = detail::parseEndpoint(text);
    if (!seen.insert(endpoint.text()).second) throw ValueError("address listed twice");
    endpoints.push_back(std::move(endpoint));
  });
  if (present) out = std::move(endpoints);
  return present;
}

void readTimeouts(TableReader section, Timeouts& timeouts) {
  section.readSeconds("greeting", timeouts.greeting, 1, kMaxTimeout);
  section.readSeconds("command", timeouts.command, 1, kMaxTimeout);
  section.readSeconds("data_block", timeouts.data_block, 1, kMaxTimeout);
  section.readSeconds("tls_handshake", timeouts.tls_handshake, 1, kMaxTimeout);
  section.readSeconds("shutdown", timeouts.shutdown, 0, kMaxTimeout);
  section.finish();
}

void readServer(TableReader section, Server& server) {
  section.readString("hostname", [&](const std::string& name) {
    detail::checkHostname(name);
    server.hostname = name;
  });
  section.readString("authserv_id", [&](const std::string& id) {
    detail::checkHostname(id);
    server.authserv_id = id;
  });
  std::set<std::string> seen;
  readEndpoints(section, "listen", server.listen, seen);
  readEndpoints(section, "listen_tls", server.listen_tls, seen);
  section.readUnsigned("workers", server.workers, 0, 1024);
  section.readUnsigned("max_connections", server.max_connections, 1, kMaxCount);
  section.readUnsigned("max_connections_per_ip", server.max_connections_per_ip, 1, kMaxCount);
  section.readUnsigned("max_message_size", server.max_message_size, 1, uint64_t{1} << 40);
  section.readUnsigned("max_recipients", server.max_recipients, 1, kMaxCount);
  // RFC 5321 4.5.3.1: servers must accept at least these lengths, so they are the minimum.
  section.readUnsigned("max_command_line", server.max_command_line, 512, 65536);
  section.readUnsigned("max_line_length", server.max_line_length, 998, 1 << 20);
  section.readUnsigned("max_errors", server.max_errors, 1, 1000);
  section.readUnsigned("max_unknown_commands", server.max_unknown_commands, 1, 1000);
  section.readEnum("bare_linefeed", server.bare_linefeed,
                   detail::EnumNames<BareLinefeed>(kBareLinefeed));
  section.readString("banner", [&](const std::string& banner) {
    detail::checkReplyText(banner, kMaxBanner);
    server.banner = banner;
  });
  readTimeouts(section.table("timeouts"), server.timeouts);
  section.finish();
}

void readTls(TableReader section, Tls& tls) {
  section.readString("certificate", [&](const std::string& path) {
    detail::checkPath(path);
    tls.certificate = path;
  });
  section.readString("private_key", [&](const std::string& path) {
    detail::checkPath(path);
    tls.private_key = path;
  });
  section.readEnum("min_version", tls.min_version, detail::EnumNames<TlsVersion>(kTlsVersion));
  section.finish();
}

void setBackendAddress(Backend& backend, const std::string& text) {
  if (text.starts_with(kMaildirPrefix)) {
    const std::string path = text.substr(kMaildirPrefix.size());
    if (path.empty()) throw ValueError("\"maildir:\" needs a directory, as in \"maildir:PATH\"");
    detail::checkPath(path);
    backend.maildir = path;
    backend.address = Endpoint{};
    return;
  }
  backend.address = detail::parseEndpoint(text);
  backend.maildir.clear();
}

void readBackend(TableReader section, Backend& backend) {
  section.readString("address", [&](const std::string& text) { setBackendAddress(backend, text); });
  section.readEnum("forward_client", backend.forward_client,
                   detail::EnumNames<ForwardClient>(kForwardClient));
  section.readEnum("tls", backend.tls, detail::EnumNames<BackendTls>(kBackendTls));
  section.readString("helo_name", [&](const std::string& name) {
    detail::checkHostname(name);
    backend.helo_name = name;
  });
  section.readSeconds("connect_timeout", backend.connect_timeout, 1, kMaxTimeout);
  section.readSeconds("command_timeout", backend.command_timeout, 1, kMaxTimeout);
  section.readSeconds("data_timeout", backend.data_timeout, 1, kMaxTimeout);
  section.finish();
}

void readLog(TableReader section, Log& log) {
  // An empty path is allowed: it turns the decision log off.
  section.readString("decisions", [&](const std::string& path) {
    if (!path.empty()) detail::checkPath(path);
    log.decisions = path;
  });
  section.finish();
}

constexpr std::array<std::string_view, 4> kKeepableActions = {"reject", "tempfail", "tag",
                                                              "accept"};

void readQuarantine(TableReader section, Quarantine& quarantine) {
  // An empty dir is allowed: it turns the quarantine off.
  section.readString("dir", [&](const std::string& path) {
    if (!path.empty()) detail::checkPath(path);
    quarantine.dir = path;
  });
  std::vector<std::string> keep;
  if (section.readStringArray("keep", [&](const std::string& action) {
        if (std::find(kKeepableActions.begin(), kKeepableActions.end(), action) ==
            kKeepableActions.end()) {
          throw ValueError("must be one of \"reject\", \"tempfail\", \"tag\", \"accept\"");
        }
        keep.push_back(action);
      })) {
    quarantine.keep = std::move(keep);
  }
  section.readUnsigned("retention_days", quarantine.retention_days, 1, 3650);
  section.readUnsigned("max_megabytes", quarantine.max_megabytes, 1, uint64_t{1} << 30);
  section.finish();
}

void readMetrics(TableReader section, Metrics& metrics) {
  section.readString(
      "listen", [&](const std::string& text) { metrics.listen = detail::parseEndpoint(text); });
  section.finish();
}

void readPolicy(TableReader section, Policy& policy) {
  section.readDouble("tag_score", policy.tag_score);
  section.readDouble("reject_score", policy.reject_score);
  if (section.has("tempfail_score")) {
    double tempfail = 0;
    section.readDouble("tempfail_score", tempfail);
    if (tempfail <= policy.tag_score || tempfail >= policy.reject_score) {
      section.failAt("tempfail_score", "must be between tag_score and reject_score");
    }
    policy.tempfail_score = tempfail;
  }
  section.readString("subject_prefix", [&](const std::string& prefix) {
    for (char c : prefix) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        throw ValueError("must not contain control characters");
      }
    }
    policy.subject_prefix = prefix;
  });
  section.readBool("clean_status", policy.clean_status);
  if (policy.reject_score <= policy.tag_score) {
    std::ostringstream reason;
    if (section.has("reject_score")) {
      reason << "must be greater than tag_score (" << policy.tag_score << ")";
      section.failAt("reject_score", reason.str());
    }
    reason << "must be less than reject_score (" << policy.reject_score << ")";
    section.failAt("tag_score", reason.str());
  }
  section.finish();
}

void readConnectionLimits(TableReader section, ConnectionLimits& limits) {
  section.readBool("enabled", limits.enabled);
  section.finish();
}

uint32_t lineAt(const toml::table& root, std::string_view path) {
  const toml::node* node = toml::at_path(root, path).node();
  return node == nullptr ? 0 : node->source().begin.line;
}

// Checks between sections; errors point at the key the operator most likely has to change.
void checkCrossSection(const toml::table& root, const Config& config, const std::string& origin) {
  const Tls& tls = config.tls;
  if (tls.certificate.empty() != tls.private_key.empty()) {
    const std::string_view set = tls.certificate.empty() ? "private_key" : "certificate";
    const std::string_view missing = tls.certificate.empty() ? "certificate" : "private_key";
    const std::string key = "tls." + std::string(set);
    detail::fail(origin, lineAt(root, key), key,
                 "set without tls." + std::string(missing) + "; both are needed for TLS");
  }
  const Server& server = config.server;
  if (server.listen.empty() && server.listen_tls.empty()) {
    const std::string key =
        toml::at_path(root, "server.listen") ? "server.listen" : "server.listen_tls";
    detail::fail(origin, lineAt(root, key), key,
                 "listen and listen_tls are both empty: nothing to accept connections on");
  }
  if (!server.listen_tls.empty() && !tls.enabled()) {
    detail::fail(origin, lineAt(root, "server.listen_tls"), "server.listen_tls",
                 "implicit TLS needs tls.certificate and tls.private_key");
  }
  // DMARC judges by SPF and DKIM results: without either, aligned mail would fail it.
  if (config.dmarc.enabled && (!config.spf.enabled || !config.dkim.enabled)) {
    const std::string off = config.spf.enabled ? "dkim" : "spf";
    detail::fail(origin, lineAt(root, off + ".enabled"), off + ".enabled",
                 "DMARC needs both SPF and DKIM: enable " + off + " or set dmarc.enabled = false");
  }
}

toml::table parseToml(const std::string& text, const std::string& origin) {
  try {
    return toml::parse(text, origin);
  } catch (const toml::parse_error& error) {
    throw ConfigError(origin + ":" + std::to_string(error.source().begin.line) +
                      ": TOML syntax error: " + std::string(error.description()));
  }
}

Config build(const toml::table& root, const std::string& origin) {
  Config config = embeddedDefaults();
  config.source = origin;
  config.backend.helo_name.clear();  // filled from the parsed hostname unless set
  config.server.authserv_id.clear();
  TableReader reader(&root, "", origin);
  readServer(reader.table("server"), config.server);
  readTls(reader.table("tls"), config.tls);
  readBackend(reader.table("backend"), config.backend);
  readLog(reader.table("log"), config.log);
  readPolicy(reader.table("policy"), config.policy);
  readConnectionLimits(reader.table("connection_limits"), config.connection_limits);
  readQuarantine(reader.table("quarantine"), config.quarantine);
  readMetrics(reader.table("metrics"), config.metrics);
  detail::readCheckSections(reader, config);
  detail::readStateSections(reader, config);
  reader.finish();
  checkCrossSection(root, config, origin);
  if (config.backend.helo_name.empty()) config.backend.helo_name = config.server.hostname;
  if (config.server.authserv_id.empty()) config.server.authserv_id = config.server.hostname;
  return config;
}

std::string readFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) throw ConfigError(path + ": cannot read: " + std::strerror(errno));
  std::string text;
  std::array<char, 8192> buffer{};
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) {
    text.append(buffer.data(), got);
  }
  const bool failed = std::ferror(file) != 0;
  const int saved = errno;
  std::fclose(file);
  if (failed) throw ConfigError(path + ": cannot read: " + std::strerror(saved));
  return text;
}

// Only that the file can be opened: the PEM contents are net's business, at TLS set-up.
std::string unreadableReason(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::strerror(errno);
  struct stat info {};
  const bool regular = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
  ::close(fd);
  return regular ? std::string() : "not a regular file";
}

// The files spamgate will open: the TLS pair when TLS is on, the CIDR lists when lists are on.
void checkFiles(const toml::table& root, const Config& config, const std::string& origin) {
  std::vector<detail::FileKey> files;
  if (config.tls.enabled()) {
    files.push_back({"tls.certificate", lineAt(root, "tls.certificate"), config.tls.certificate});
    files.push_back({"tls.private_key", lineAt(root, "tls.private_key"), config.tls.private_key});
  }
  for (detail::FileKey& file : detail::checkSectionFiles(root, config)) {
    files.push_back(std::move(file));
  }
  for (const detail::FileKey& file : files) {
    const std::string reason = unreadableReason(file.path);
    if (!reason.empty()) {
      detail::fail(origin, file.line, file.key, "cannot read \"" + file.path + "\": " + reason);
    }
  }
}

}  // namespace

std::string Endpoint::text() const {
  const std::string port_text = std::to_string(port);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

bool Quarantine::keeps(std::string_view action) const {
  return enabled() && std::find(keep.begin(), keep.end(), action) != keep.end();
}

Snapshot defaults() {
  return std::make_shared<const Config>(embeddedDefaults());
}

Snapshot load(const std::string& path) {
  const toml::table root = parseToml(readFile(path), path);
  Config config = build(root, path);
  checkFiles(root, config, path);
  return std::make_shared<const Config>(std::move(config));
}

Snapshot parse(const std::string& text, const std::string& origin) {
  return std::make_shared<const Config>(build(parseToml(text, origin), origin));
}

}  // namespace spamgate::config
