// The one list of spamgate's Prometheus metrics: name, type, help, label and buckets. The
// registry's storage, the recording calls (metrics::id("name") fails to compile for a name not
// in the list) and the exposition all come from this table, and docs/metrics.md describes it.
//
// Names are "spamgate_" + the name here; label names and values are the decision log's keys
// and values (action, reason, reply code, check). Every label has a fixed set of values (or,
// for reply codes, the codes 100-599), so the number of series is bounded: never an address,
// a domain or free text.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace spamgate::metrics {

enum class Type { Counter, Gauge, Histogram };

// How a family's single label (if any) takes its values.
enum class LabelKind {
  None,       // one unlabelled series
  Fixed,      // the listed values; a value not listed counts under "other" when listed
  ReplyCode,  // SMTP reply codes 100-599; only the codes seen are exposed
};

struct Label {
  LabelKind kind = LabelKind::None;
  std::string_view name;
  std::span<const std::string_view> values;
};

// Histogram bounds in the unit observations are recorded in (microseconds, octets); the
// exposition shows them divided by `unit` (seconds, bytes).
struct Buckets {
  std::span<const uint64_t> bounds;
  double unit = 1;
};

struct Family {
  std::string_view name;  // without the "spamgate_" prefix
  Type type;
  std::string_view help;
  Label label;
  Buckets buckets;
};

inline constexpr std::string_view kPrefix = "spamgate_";

inline constexpr std::string_view kActions[] = {"accept", "tag",        "tempfail",
                                                "reject", "disconnect", "none"};
// The checks' names (pipeline::Check::name()), in pipeline order.
// clang-format off
inline constexpr std::array<std::string_view, 13> kCheckNames{
    "connection_limits", "lists", "rate_limits", "reputation", "pregreet", "dnsbl", "fcrdns",
    "helo", "spf", "dkim", "dmarc", "greylist", "rules"};
// clang-format on

template <std::size_t N, std::size_t M>
consteval std::array<std::string_view, N + M> join(const std::array<std::string_view, N>& a,
                                                   const std::array<std::string_view, M>& b) {
  std::array<std::string_view, N + M> out{};
  for (std::size_t i = 0; i < N; ++i)
    out[i] = a[i];
  for (std::size_t i = 0; i < M; ++i)
    out[N + i] = b[i];
  return out;
}

inline constexpr auto kChecks = join(kCheckNames, std::array<std::string_view, 1>{"other"});
// A decision's reason grouped: the check (or "backend", "protocol") before its ':', or "score".
inline constexpr auto kReasons =
    join(kCheckNames, std::array<std::string_view, 4>{"score", "backend", "protocol", "other"});
// The features that use the state store, by their *_STORE_ERROR symbol's prefix.
inline constexpr std::string_view kStoreFeatures[] = {"greylist", "reputation", "rate_limits",
                                                      "other"};
inline constexpr std::string_view kTlsVersions[] = {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3",
                                                    "other"};

inline constexpr uint64_t kDurationBoundsUs[] = {
    1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
inline constexpr uint64_t kSizeBounds[] = {1024,    4096,    16384,    65536,   262144,
                                           1048576, 4194304, 16777216, 52428800};

inline constexpr Label kNoLabel{};
inline constexpr Label kActionLabel{LabelKind::Fixed, "action", kActions};
inline constexpr Label kCheckLabel{LabelKind::Fixed, "check", kChecks};
inline constexpr Label kReasonLabel{LabelKind::Fixed, "reason", kReasons};
inline constexpr Label kFeatureLabel{LabelKind::Fixed, "feature", kStoreFeatures};
inline constexpr Label kVersionLabel{LabelKind::Fixed, "version", kTlsVersions};
inline constexpr Label kCodeLabel{LabelKind::ReplyCode, "code", {}};
inline constexpr Buckets kNoBuckets{};
inline constexpr Buckets kDurationBuckets{kDurationBoundsUs, 1e6};
inline constexpr Buckets kSizeBuckets{kSizeBounds, 1};

inline constexpr Family kFamilies[] = {
    {"connections_current", Type::Gauge, "Client connections open now.", kNoLabel, kNoBuckets},
    {"connections_total", Type::Counter, "Client connections accepted.", kNoLabel, kNoBuckets},
    {"connections_refused_total", Type::Counter,
     "Client connections refused by a connect-stage check (connection limits, lists, DNSBL, "
     "fcrdns, pregreet).",
     kNoLabel, kNoBuckets},
    {"transactions_total", Type::Counter,
     "Transactions (decision log event \"transaction\") by the decision's action.", kActionLabel,
     kNoBuckets},
    {"rejections_total", Type::Counter,
     "Decisions with action reject or disconnect, by reason (the check before ':', or score).",
     kReasonLabel, kNoBuckets},
    {"tempfails_total", Type::Counter,
     "Decisions with action tempfail, by reason (the check before ':', or score).", kReasonLabel,
     kNoBuckets},
    {"replies_total", Type::Counter, "Decisions by the code of the reply the client was given.",
     kCodeLabel, kNoBuckets},
    {"backend_errors_total", Type::Counter,
     "Decisions whose reason is the backend's (\"backend: ...\"): refused or not reachable.",
     kNoLabel, kNoBuckets},
    {"store_errors_total", Type::Counter,
     "Decisions in which a feature could not reach the state store and failed open "
     "(a *_STORE_ERROR symbol), by feature.",
     kFeatureLabel, kNoBuckets},
    {"check_duration_seconds", Type::Histogram, "Time a check took to answer, by check.",
     kCheckLabel, kDurationBuckets},
    {"check_timeouts_total", Type::Counter,
     "Checks cancelled at the stage deadline (CHECK_TIMEOUT), by check.", kCheckLabel, kNoBuckets},
    {"dns_lookups_total", Type::Counter, "DNS lookups asked of the resolver.", kNoLabel,
     kNoBuckets},
    {"dns_queries_total", Type::Counter,
     "DNS queries sent to the nameservers (one per distinct question not cached).", kNoLabel,
     kNoBuckets},
    {"dns_cache_hits_total", Type::Counter, "DNS lookups answered from the resolver's cache.",
     kNoLabel, kNoBuckets},
    {"tls_handshakes_total", Type::Counter, "TLS handshakes completed (STARTTLS or implicit TLS).",
     kVersionLabel, kNoBuckets},
    {"tls_failures_total", Type::Counter, "TLS handshakes that failed or timed out.", kNoLabel,
     kNoBuckets},
    {"message_size_bytes", Type::Histogram, "Octets of message data received per transaction.",
     kNoLabel, kSizeBuckets},
};

inline constexpr std::size_t kFamilyCount = std::size(kFamilies);

using Id = std::size_t;

// The family called `name`; a name not in kFamilies does not compile.
consteval Id id(std::string_view name) {
  for (std::size_t i = 0; i < kFamilyCount; ++i) {
    if (kFamilies[i].name == name) return i;
  }
  throw "unknown metric name";
}

}  // namespace spamgate::metrics
