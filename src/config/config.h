// spamgate's configuration: an immutable snapshot loaded from TOML (toml++). Every field has an
// embedded default, so an empty file (or no file) is a complete configuration. Loading rejects
// unknown keys and bad values with a ConfigError that names the file, the line and the key.
// Reload builds a new snapshot; the old one stays in use until the new one is complete.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace spamgate::config {

using Seconds = std::chrono::seconds;

struct Endpoint {
  std::string host;  // numeric IPv4 or IPv6 address (no brackets)
  uint16_t port = 0;
  std::string text() const;  // "127.0.0.1:25" or "[::1]:25"
};

enum class BareLinefeed { Normalize, Reject };
enum class ForwardClient { None, Xclient, Xforward };
enum class BackendTls { None, Opportunistic, Required };
enum class TlsVersion { Tls1_0, Tls1_1, Tls1_2, Tls1_3 };

struct Timeouts {
  Seconds greeting{300};    // server waits for the first command
  Seconds command{300};     // RFC 5321 4.5.3.2.7: at least 5 minutes
  Seconds data_block{180};  // RFC 5321 4.5.3.2.5: between data blocks
  Seconds tls_handshake{60};
  Seconds shutdown{30};  // SIGTERM: transactions in flight get this long to finish
};

struct Server {
  std::string hostname;              // default: gethostname()
  std::vector<Endpoint> listen;      // plain SMTP, STARTTLS offered when [tls] is set
  std::vector<Endpoint> listen_tls;  // implicit TLS (port 465 style)
  unsigned workers = 0;              // 0: one per core
  unsigned max_connections = 1000;
  unsigned max_connections_per_ip = 20;
  uint64_t max_message_size = 50ull * 1024 * 1024;
  unsigned max_recipients = 100;
  std::size_t max_command_line = 512;  // octets including CRLF (RFC 5321 4.5.3.1.4)
  std::size_t max_line_length = 998;   // text line octets excluding CRLF (RFC 5321 4.5.3.1.6)
  unsigned max_errors = 10;            // 4xx/5xx replies to commands before 421 and close
  unsigned max_unknown_commands = 5;   // unrecognised verbs before 421 and close
  BareLinefeed bare_linefeed = BareLinefeed::Normalize;
  std::string banner = "ESMTP spamgate";
  std::string authserv_id;  // Authentication-Results (RFC 8601); default: hostname
  Timeouts timeouts;
};

struct Tls {
  bool enabled() const { return !certificate.empty(); }
  std::string certificate;  // PEM chain path
  std::string private_key;  // PEM key path
  TlsVersion min_version = TlsVersion::Tls1_2;
};

struct Backend {
  // Either an SMTP relay (host:port) or a local Maildir directory ("maildir:PATH").
  bool isMaildir() const { return !maildir.empty(); }
  Endpoint address;
  std::string maildir;
  ForwardClient forward_client = ForwardClient::None;
  BackendTls tls = BackendTls::None;
  std::string helo_name;  // default: [server].hostname
  Seconds connect_timeout{30};
  Seconds command_timeout{60};  // per reply to EHLO/MAIL/RCPT/...
  Seconds data_timeout{600};    // for the reply after the final dot (RFC: 10 min)
};

struct Log {
  std::string decisions;  // JSON lines path; empty: no decision log
};

struct Policy {
  double tag_score = 5.0;      // X-Spam headers added from this score on
  double reject_score = 15.0;  // rejected with 550 5.7.1 from this score on
  // Deferred with 451 4.7.1 from this score on (between tag and reject); absent: never.
  std::optional<double> tempfail_score;
  std::string subject_prefix;  // put before the Subject of tagged mail, e.g. "[SPAM]"
  bool clean_status = true;    // clean mail gets "X-Spam-Status: No, score=..." too
};

struct ConnectionLimits {
  bool enabled = true;
};

// Where a refusal based on who connects is given: at connect, or at the first RCPT (the
// default, so that the decision log holds the envelope: postscreen vs smtpd's choice).
enum class RejectAt { Connect, Rcpt };

struct Dns {
  std::vector<Endpoint> nameservers;        // empty: the nameservers of /etc/resolv.conf
  std::chrono::milliseconds timeout{2000};  // per try; key `timeout` in seconds (fractions ok)
  unsigned retries = 1;                     // tries after the first, rotating nameservers
  std::size_t cache_entries = 100000;
};

// CIDR allow and deny lists, one network per line ("192.0.2.0/24", "2001:db8::/32", "# ...").
struct Lists {
  bool enabled = true;
  bool score_only = false;
  std::vector<std::string> allow;  // files; an allow-listed client skips reputation checks
  std::vector<std::string> deny;   // files; a deny-listed client gets 554 5.7.1
  double deny_score = 100;
  RejectAt reject_at = RejectAt::Rcpt;
};

struct DnsblZone {
  std::string zone;
  double weight = 1;               // negative for allow lists (DNSWL)
  std::vector<std::string> codes;  // "127.0.0.2", "127.0.0.[2..11]", "127.0.0.[2;4;8]"; empty: any
};

struct Dnsbl {
  bool enabled = true;
  bool score_only = false;
  double reject_weight = 10;  // total weight at which the client is refused (554 5.7.1)
  RejectAt reject_at = RejectAt::Rcpt;
  double tempfail_score = 0;  // per zone that did not answer
  // A zone that did not answer defers the client (451 4.4.3, at reject_at) rather than letting
  // it pass unchecked; false: the DNSBL_TEMPFAIL symbol alone.
  bool tempfail_on_error = true;
  std::vector<DnsblZone> zones;
};

struct Fcrdns {
  bool enabled = true;
  bool reject = false;  // 550 5.7.25 for no PTR / no match, 450 4.7.25 on DNS error
  double no_ptr_score = 3;
  double mismatch_score = 2;
  double tempfail_score = 0;
};

struct Helo {
  bool enabled = true;
  double invalid_score = 3;      // not a domain or address literal
  double bare_ip_score = 3;      // an IP address without [brackets]
  double ip_mismatch_score = 2;  // a literal that is not the client's address
  double claims_us_score = 5;    // our own hostname or address
  double not_fqdn_score = 1;     // a single label
};

struct Pregreet {
  bool enabled = true;
  bool enforce = false;               // 554 5.5.1 instead of a score
  std::chrono::milliseconds wait{0};  // key `wait` in seconds: "220-" first, then the greeting
  double score = 5;
};

struct RateLimits {
  bool enabled = true;
  bool score_only = false;
  // 0 = unlimited, the default (as Postfix's anvil limits): big senders share IPs.
  unsigned connections_per_minute = 0;  // per client IP: 421 4.7.0
  unsigned messages_per_minute = 0;     // per client IP: 450 4.7.1
  unsigned recipients_per_minute = 0;   // per client IP: 450 4.7.1
};

// What a failed authentication check does: refuse (with its RFC 7372 code) or add its score.
enum class FailAction { Reject, Score };
enum class SpfRejectAt { Mail, Rcpt };

// SPF (RFC 7208) of MAIL FROM, or of the HELO name for the null sender.
struct Spf {
  bool enabled = true;
  FailAction fail_action = FailAction::Reject;      // fail: 550 5.7.23
  FailAction permerror_action = FailAction::Score;  // permerror: 550 5.7.24
  bool tempfail_on_error = true;                    // temperror: 451 4.4.3; false: score only
  SpfRejectAt reject_at = SpfRejectAt::Mail;        // where a refusal is given
  double pass_score = 0;
  double fail_score = 5;
  double softfail_score = 2;
  double neutral_score = 0;
  double none_score = 0;
  double temperror_score = 0;
  double permerror_score = 1;
};

// DKIM (RFC 6376, RFC 8301, RFC 8463) signatures, verified at end of data.
struct Dkim {
  bool enabled = true;
  unsigned min_key_bits = 1024;  // shorter RSA keys fail (RFC 8301 section 3.2)
  unsigned max_signatures = 10;  // verified per message; the rest are ignored
  double pass_score = 0;
  double fail_score = 1;  // a signature that fails (none passing)
  double temperror_score = 0;
  double permerror_score = 0.5;
};

// DMARC (RFC 7489): the From domain's policy against aligned SPF and DKIM results.
struct Dmarc {
  bool enabled = true;
  FailAction reject_action = FailAction::Reject;  // p=reject failing: 550 5.7.1
  bool tempfail_on_error = true;  // the policy lookup failed: 451 4.4.3; false: symbol only
  double reject_score = 10;       // p=reject failing, when reject_action = "score"
  double quarantine_score = 5;    // p=quarantine failing: the message is tagged
  double none_fail_score = 1;     // p=none failing
  double missing_from_score = 3;
  double multiple_from_score = 5;
};

// Content rules (SpamAssassin's format) scored at end of data.
struct Rules {
  std::vector<std::string> paths;  // files and directories (their *.cf); empty: no rules
  uint32_t match_limit = 100000;   // PCRE2 limits per match: a rule over them does not hit
  uint32_t depth_limit = 10000;
  // Third-party sets (SpamAssassin's stock rules): a regex PCRE2 refuses skips its rule with a
  // warning instead of refusing the whole set.
  bool skip_bad_regex = false;
};

// Messages kept for review and release (`spamgate release ID`, `spamgate scan --id ID`).
struct Quarantine {
  bool enabled() const { return !dir.empty(); }
  bool keeps(std::string_view action) const;
  std::string dir;                          // empty: nothing is kept
  std::vector<std::string> keep{"reject"};  // actions: "reject", "tempfail", "tag", "accept"
  unsigned retention_days = 30;             // older messages are pruned
  uint64_t max_megabytes = 1024;            // over this, the oldest messages are pruned first
};

// Where state that outlives a connection lives (greylist, reputation, rate limits).
enum class StoreBackend { Embedded, Redis };

struct Store {
  StoreBackend backend = StoreBackend::Embedded;
  std::string path = "var/state.mdb";            // embedded: one LMDB file shared by the workers
  uint64_t map_megabytes = 256;                  // embedded: the most the file may grow to
  Endpoint redis{"127.0.0.1", 6379};             // numeric address: connecting never resolves names
  std::string redis_password;                    // AUTH when not empty
  unsigned redis_db = 0;                         // SELECT
  std::chrono::milliseconds redis_timeout{250};  // per request; connect timeout too
};

// Greylisting (RFC 6647) of (client network, sender, recipient) at RCPT.
struct Greylist {
  bool enabled = false;
  Seconds delay{300};                     // a retry passes after this long
  Seconds retry_window{24 * 3600};        // a first attempt is forgotten after this long
  Seconds pass_lifetime{35 * 24 * 3600};  // a passed triplet is remembered this long
  unsigned ipv4_prefix = 24;              // the client network of a triplet
  unsigned ipv6_prefix = 64;
  bool skip_good_reputation = true;  // clients with REPUTATION_GOOD are not greylisted
  bool skip_spf_pass_known = true;   // nor SPF-pass senders of a domain that passed before
  // Applied only when the score so far lies in [min_score, max_score); absent: always.
  std::optional<double> min_score;
  std::optional<double> max_score;
};

// Reputation learned from spamgate's own decisions, per client address and network.
struct Reputation {
  bool enabled = true;
  Seconds half_life{7 * 24 * 3600};  // an old decision counts half after this long
  double min_decisions = 3;          // fewer (decayed) decisions: no opinion
  double good_score = -1;            // REPUTATION_GOOD: nearly everything accepted
  double bad_score = 4;              // REPUTATION_BAD at a bad share of 1 (scaled down)
  unsigned ipv4_prefix = 24;         // also learned per network (REPUTATION_NET_*)
  unsigned ipv6_prefix = 64;
};

// Prometheus text format on GET /metrics.
struct Metrics {
  std::optional<Endpoint> listen;  // absent: no metrics endpoint
};

struct Config {
  std::string source;  // the file it came from ("" for embedded defaults)
  Server server;
  Tls tls;
  Backend backend;
  Log log;
  Policy policy;
  ConnectionLimits connection_limits;
  Dns dns;
  Lists lists;
  Dnsbl dnsbl;
  Fcrdns fcrdns;
  Helo helo;
  Pregreet pregreet;
  RateLimits rate_limits;
  Spf spf;
  Dkim dkim;
  Dmarc dmarc;
  Rules rules;
  Quarantine quarantine;
  Metrics metrics;
  Store store;
  Greylist greylist;
  Reputation reputation;
};

using Snapshot = std::shared_ptr<const Config>;

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Embedded defaults: listen 127.0.0.1:2525, Maildir backend var/maildir, decision log
// var/decisions.jsonl, quarantine var/quarantine, no TLS, no metrics endpoint.
Snapshot defaults();
// Parses and validates a TOML file; throws ConfigError("FILE:LINE: key 'a.b': reason").
Snapshot load(const std::string& path);
// Same, from text (tests); `origin` names the source in errors.
Snapshot parse(const std::string& text, const std::string& origin);

}  // namespace spamgate::config
