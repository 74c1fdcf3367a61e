// Config: defaults, every key, the shipped example, endpoints, backends and load()'s file checks.
#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace spamgate::config {
namespace {

using std::chrono::seconds;

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A scratch directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("spamgate-config-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    const auto file = path_ / name;
    std::ofstream(file) << text;
    return file.string();
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

TEST(ConfigDefaults, MatchTheDocumentedValues) {
  const Snapshot config = defaults();
  EXPECT_EQ(config->source, "");
  EXPECT_FALSE(config->server.hostname.empty());
  ASSERT_EQ(config->server.listen.size(), 1u);
  EXPECT_EQ(config->server.listen[0].text(), "127.0.0.1:2525");
  EXPECT_TRUE(config->server.listen_tls.empty());
  EXPECT_EQ(config->server.max_message_size, 50u * 1024 * 1024);
  EXPECT_EQ(config->server.max_command_line, 512u);
  EXPECT_EQ(config->server.bare_linefeed, BareLinefeed::Normalize);
  EXPECT_EQ(config->server.timeouts.command, seconds(300));
  EXPECT_FALSE(config->tls.enabled());
  EXPECT_EQ(config->tls.min_version, TlsVersion::Tls1_2);
  EXPECT_TRUE(config->backend.isMaildir());
  EXPECT_EQ(config->backend.maildir, "var/maildir");
  EXPECT_EQ(config->backend.helo_name, config->server.hostname);
  EXPECT_EQ(config->log.decisions, "var/decisions.jsonl");
  EXPECT_DOUBLE_EQ(config->policy.tag_score, 5.0);
  EXPECT_DOUBLE_EQ(config->policy.reject_score, 15.0);
  EXPECT_TRUE(config->connection_limits.enabled);
}

TEST(ConfigDefaults, EmptyFileIsTheDefaults) {
  const Snapshot parsed = parse("", "empty.toml");
  const Snapshot embedded = defaults();
  EXPECT_EQ(parsed->source, "empty.toml");
  EXPECT_EQ(parsed->server.hostname, embedded->server.hostname);
  ASSERT_EQ(parsed->server.listen.size(), 1u);
  EXPECT_EQ(parsed->server.listen[0].text(), "127.0.0.1:2525");
  EXPECT_EQ(parsed->backend.maildir, "var/maildir");
  EXPECT_EQ(parsed->backend.helo_name, embedded->server.hostname);
  EXPECT_EQ(parsed->log.decisions, "var/decisions.jsonl");
}

constexpr const char* kFullFile = R"(
[server]
hostname = "mx.example.org"
listen = ["0.0.0.0:25", "[::]:25"]
listen_tls = ["192.0.2.1:465"]
workers = 4
max_connections = 500
max_connections_per_ip = 7
max_message_size = 1048576
max_recipients = 50
max_command_line = 1024
max_line_length = 2000
max_errors = 3
max_unknown_commands = 2
bare_linefeed = "reject"
banner = "ESMTP hello"

[server.timeouts]
greeting = 11
command = 12
data_block = 13
tls_handshake = 14
shutdown = 0

[tls]
certificate = "/etc/spamgate/cert.pem"
private_key = "keys/key.pem"
min_version = "1.3"

[backend]
address = "[2001:db8::25]:10025"
forward_client = "xclient"
tls = "required"
helo_name = "gate.example.org"
connect_timeout = 5
command_timeout = 6
data_timeout = 7

[log]
decisions = ""

[policy]
tag_score = 3
reject_score = 9.5

[connection_limits]
enabled = false
)";

TEST(ConfigParse, EveryKey) {
  const Snapshot c = parse(kFullFile, "full.toml");
  EXPECT_EQ(c->source, "full.toml");
  const Server& s = c->server;
  EXPECT_EQ(s.hostname, "mx.example.org");
  ASSERT_EQ(s.listen.size(), 2u);
  EXPECT_EQ(s.listen[0].text(), "0.0.0.0:25");
  EXPECT_EQ(s.listen[1].host, "::");
  EXPECT_EQ(s.listen[1].port, 25);
  ASSERT_EQ(s.listen_tls.size(), 1u);
  EXPECT_EQ(s.listen_tls[0].text(), "192.0.2.1:465");
  EXPECT_EQ(s.workers, 4u);
  EXPECT_EQ(s.max_connections, 500u);
  EXPECT_EQ(s.max_connections_per_ip, 7u);
  EXPECT_EQ(s.max_message_size, 1048576u);
  EXPECT_EQ(s.max_recipients, 50u);
  EXPECT_EQ(s.max_command_line, 1024u);
  EXPECT_EQ(s.max_line_length, 2000u);
  EXPECT_EQ(s.max_errors, 3u);
  EXPECT_EQ(s.max_unknown_commands, 2u);
  EXPECT_EQ(s.bare_linefeed, BareLinefeed::Reject);
  EXPECT_EQ(s.banner, "ESMTP hello");
  EXPECT_EQ(s.timeouts.greeting, seconds(11));
  EXPECT_EQ(s.timeouts.command, seconds(12));
  EXPECT_EQ(s.timeouts.data_block, seconds(13));
  EXPECT_EQ(s.timeouts.tls_handshake, seconds(14));
  EXPECT_EQ(s.timeouts.shutdown, seconds(0));
  EXPECT_TRUE(c->tls.enabled());
  EXPECT_EQ(c->tls.certificate, "/etc/spamgate/cert.pem");
  EXPECT_EQ(c->tls.private_key, "keys/key.pem");  // relative paths stay as written
  EXPECT_EQ(c->tls.min_version, TlsVersion::Tls1_3);
  const Backend& b = c->backend;
  EXPECT_FALSE(b.isMaildir());
  EXPECT_EQ(b.address.host, "2001:db8::25");
  EXPECT_EQ(b.address.port, 10025);
  EXPECT_EQ(b.forward_client, ForwardClient::Xclient);
  EXPECT_EQ(b.tls, BackendTls::Required);
  EXPECT_EQ(b.helo_name, "gate.example.org");
  EXPECT_EQ(b.connect_timeout, seconds(5));
  EXPECT_EQ(b.command_timeout, seconds(6));
  EXPECT_EQ(b.data_timeout, seconds(7));
  EXPECT_EQ(c->log.decisions, "");
  EXPECT_DOUBLE_EQ(c->policy.tag_score, 3.0);
  EXPECT_DOUBLE_EQ(c->policy.reject_score, 9.5);
  EXPECT_FALSE(c->connection_limits.enabled);
}

TEST(ConfigParse, ShippedExampleParses) {
  const std::string path = SPAMGATE_SOURCE_DIR "/config/spamgate.toml";
  const std::string text = readText(path);
  ASSERT_FALSE(text.empty()) << path;
  const Snapshot c = parse(text, path);  // parse() does not look at the PEM files
  ASSERT_EQ(c->server.listen.size(), 1u);
  EXPECT_EQ(c->server.listen[0].text(), "127.0.0.1:2525");
  ASSERT_EQ(c->server.listen_tls.size(), 1u);
  EXPECT_EQ(c->server.listen_tls[0].text(), "127.0.0.1:2465");
  EXPECT_EQ(c->tls.certificate, "var/tls/cert.pem");
  EXPECT_EQ(c->tls.private_key, "var/tls/key.pem");
  EXPECT_EQ(c->backend.maildir, "var/maildir");
  EXPECT_EQ(c->log.decisions, "var/decisions.jsonl");
  // The example documents the defaults; apart from the listeners and TLS it changes nothing.
  const Snapshot d = defaults();
  EXPECT_EQ(c->server.hostname, d->server.hostname);
  EXPECT_EQ(c->server.max_message_size, d->server.max_message_size);
  EXPECT_EQ(c->server.max_recipients, d->server.max_recipients);
  EXPECT_EQ(c->server.timeouts.data_block, d->server.timeouts.data_block);
  EXPECT_EQ(c->server.banner, d->server.banner);
  EXPECT_EQ(c->backend.data_timeout, d->backend.data_timeout);
  EXPECT_DOUBLE_EQ(c->policy.reject_score, d->policy.reject_score);
  // The check sections document their defaults too; the zone list is commented out.
  EXPECT_TRUE(c->dns.nameservers.empty());
  EXPECT_EQ(c->dns.timeout, d->dns.timeout);
  EXPECT_EQ(c->dns.retries, d->dns.retries);
  EXPECT_EQ(c->dns.cache_entries, d->dns.cache_entries);
  EXPECT_TRUE(c->lists.enabled);
  EXPECT_TRUE(c->lists.allow.empty());
  EXPECT_TRUE(c->lists.deny.empty());
  EXPECT_DOUBLE_EQ(c->lists.deny_score, d->lists.deny_score);
  EXPECT_EQ(c->lists.reject_at, d->lists.reject_at);
  EXPECT_TRUE(c->dnsbl.zones.empty());
  EXPECT_DOUBLE_EQ(c->dnsbl.reject_weight, d->dnsbl.reject_weight);
  EXPECT_EQ(c->dnsbl.reject_at, d->dnsbl.reject_at);
  EXPECT_DOUBLE_EQ(c->fcrdns.no_ptr_score, d->fcrdns.no_ptr_score);
  EXPECT_EQ(c->fcrdns.reject, d->fcrdns.reject);
  EXPECT_DOUBLE_EQ(c->helo.claims_us_score, d->helo.claims_us_score);
  EXPECT_EQ(c->pregreet.wait, d->pregreet.wait);
  EXPECT_EQ(c->pregreet.enforce, d->pregreet.enforce);
  EXPECT_EQ(c->rate_limits.recipients_per_minute, d->rate_limits.recipients_per_minute);
}

TEST(ConfigParse, ShippedExampleZonesParseWhenUncommented) {
  // The commented-out DNSBL example must be valid once an operator removes the '#'.
  const std::string path = SPAMGATE_SOURCE_DIR "/config/spamgate.toml";
  std::istringstream in(readText(path));
  std::string text;
  std::string line;
  bool in_example = false;
  while (std::getline(in, line)) {
    if (line.starts_with("#[[dnsbl.zones]]")) in_example = true;
    if (in_example && line.starts_with("#") && !line.starts_with("# ")) line.erase(0, 1);
    if (in_example && line.starts_with("[") && !line.starts_with("[[dnsbl.zones]]")) {
      in_example = false;
    }
    text += line + "\n";
  }
  const Snapshot c = parse(text, path);
  ASSERT_EQ(c->dnsbl.zones.size(), 2u);
  EXPECT_EQ(c->dnsbl.zones[0].zone, "zen.spamhaus.org");
  EXPECT_DOUBLE_EQ(c->dnsbl.zones[0].weight, 10);
  EXPECT_FALSE(c->dnsbl.zones[0].codes.empty());
  EXPECT_EQ(c->dnsbl.zones[1].zone, "list.dnswl.org");
  EXPECT_DOUBLE_EQ(c->dnsbl.zones[1].weight, -5);
}

TEST(ConfigParse, HeloNameFollowsTheParsedHostname) {
  const Snapshot c = parse("[server]\nhostname = \"mx.example.net\"\n", "t.toml");
  EXPECT_EQ(c->backend.helo_name, "mx.example.net");
}

TEST(ConfigParse, ListenDefaultOnlyWhenUnset) {
  const Snapshot only_tls = parse(R"(
[server]
listen_tls = ["127.0.0.1:465"]
[tls]
certificate = "c.pem"
private_key = "k.pem"
)",
                                  "t.toml");
  ASSERT_EQ(only_tls->server.listen.size(), 1u);
  EXPECT_EQ(only_tls->server.listen[0].text(), "127.0.0.1:2525");

  const Snapshot emptied = parse(R"(
[server]
listen = []
listen_tls = ["127.0.0.1:465"]
[tls]
certificate = "c.pem"
private_key = "k.pem"
)",
                                 "t.toml");
  EXPECT_TRUE(emptied->server.listen.empty());
  EXPECT_EQ(emptied->server.listen_tls.size(), 1u);
}

TEST(ConfigEndpoint, Ipv6IsBracketedAndCanonical) {
  const Snapshot c = parse(
      "[server]\nlisten = [\"[::1]:25\", \"[2001:DB8:0:0::1]:587\", \"[::ffff:192.0.2.1]:26\"]\n",
      "t.toml");
  ASSERT_EQ(c->server.listen.size(), 3u);
  EXPECT_EQ(c->server.listen[0].host, "::1");
  EXPECT_EQ(c->server.listen[0].port, 25);
  EXPECT_EQ(c->server.listen[0].text(), "[::1]:25");
  EXPECT_EQ(c->server.listen[1].text(), "[2001:db8::1]:587");
  EXPECT_EQ(c->server.listen[2].text(), "[::ffff:192.0.2.1]:26");
}

TEST(ConfigEndpoint, TextOfIpv4) {
  EXPECT_EQ((Endpoint{"192.0.2.7", 65535}).text(), "192.0.2.7:65535");
}

TEST(ConfigBackend, MaildirOrRelay) {
  const Snapshot maildir = parse("[backend]\naddress = \"maildir:/srv/mail/Maildir\"\n", "t.toml");
  EXPECT_TRUE(maildir->backend.isMaildir());
  EXPECT_EQ(maildir->backend.maildir, "/srv/mail/Maildir");

  const Snapshot relay = parse("[backend]\naddress = \"127.0.0.1:10025\"\n", "t.toml");
  EXPECT_FALSE(relay->backend.isMaildir());
  EXPECT_EQ(relay->backend.maildir, "");
  EXPECT_EQ(relay->backend.address.text(), "127.0.0.1:10025");

  const Snapshot v6 = parse("[backend]\naddress = \"[::1]:25\"\n", "t.toml");
  EXPECT_FALSE(v6->backend.isMaildir());
  EXPECT_EQ(v6->backend.address.text(), "[::1]:25");
}

TEST(ConfigLoad, ReadsAFileAndNamesIt) {
  TempDir dir;
  const std::string path = dir.write("a.toml", "[server]\nmax_recipients = 42\n");
  const Snapshot c = load(path);
  EXPECT_EQ(c->source, path);
  EXPECT_EQ(c->server.max_recipients, 42u);
}

TEST(ConfigLoad, MissingFile) {
  TempDir dir;
  const std::string path = dir.path("missing.toml");
  try {
    load(path);
    FAIL() << "no error";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), path + ": cannot read: No such file or directory");
  }
}

TEST(ConfigLoad, ErrorsNameTheLoadedFile) {
  TempDir dir;
  const std::string path = dir.write("b.toml", "\n[server]\nworkers = -1\n");
  try {
    load(path);
    FAIL() << "no error";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), path + ":3: key 'server.workers': must not be negative");
  }
}

TEST(ConfigLoad, ChecksTlsFilesAreReadable) {
  TempDir dir;
  const std::string cert = dir.write("cert.pem", "not parsed here");
  const std::string key = dir.path("key.pem");  // does not exist
  const std::string text = "[tls]\ncertificate = \"" + cert + "\"\nprivate_key = \"" + key + "\"\n";
  const std::string path = dir.write("tls.toml", text);
  EXPECT_NO_THROW(parse(text, path));  // parse() never touches the files
  try {
    load(path);
    FAIL() << "no error";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), path + ":3: key 'tls.private_key': cannot read \"" + key +
                                             "\": No such file or directory");
  }
  dir.write("key.pem", "also not parsed");
  const Snapshot c = load(path);
  EXPECT_TRUE(c->tls.enabled());
}

TEST(ConfigLoad, TlsCertificateMustBeAFile) {
  TempDir dir;
  const std::string key = dir.write("key.pem", "x");
  const std::string path = dir.write(
      "tls.toml", "[tls]\ncertificate = \"" + dir.path("") + "\"\nprivate_key = \"" + key + "\"\n");
  try {
    load(path);
    FAIL() << "no error";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), path + ":2: key 'tls.certificate': cannot read \"" +
                                             dir.path("") + "\": not a regular file");
  }
}

}  // namespace
}  // namespace spamgate::config
