#include "metrics/observe.h"

#include <algorithm>
#include <string>

namespace spamgate::metrics {

std::string_view reasonGroup(std::string_view reason) {
  if (reason.starts_with("score ")) return "score";
  const auto colon = reason.find(':');
  if (colon == std::string_view::npos) return "other";
  const std::string_view check = reason.substr(0, colon);
  for (const auto value : kReasons) {
    if (value == check) return value;
  }
  return "other";
}

namespace {

std::string_view storeFeature(std::string_view symbol) {
  if (symbol.starts_with("GREYLIST_")) return "greylist";
  if (symbol.starts_with("REPUTATION_")) return "reputation";
  if (symbol.starts_with("RATE_")) return "rate_limits";
  return "other";
}

}  // namespace

void observe(const log::Decision& decision, Registry& registry) {
  if (decision.event == "transaction") {
    registry.add(id("transactions_total"), decision.action);
    if (decision.size > 0) registry.observe(id("message_size_bytes"), {}, decision.size);
  }
  if (decision.action == "reject" || decision.action == "disconnect") {
    registry.add(id("rejections_total"), reasonGroup(decision.reason));
  } else if (decision.action == "tempfail") {
    registry.add(id("tempfails_total"), reasonGroup(decision.reason));
  }
  if (decision.reply.code != 0) {
    registry.add(id("replies_total"), std::to_string(decision.reply.code));
  }
  if (decision.reason.starts_with("backend:")) registry.add(id("backend_errors_total"));
  for (const auto& symbol : decision.symbols) {
    if (symbol.name.ends_with("_STORE_ERROR")) {
      registry.add(id("store_errors_total"), storeFeature(symbol.name));
    }
  }
}

void connectionOpened(Registry& registry) {
  registry.add(id("connections_total"));
  registry.add(id("connections_current"));
}

void connectionClosed(Registry& registry) {
  registry.add(id("connections_current"), {}, -1);
}

void connectionRefused(Registry& registry) {
  registry.add(id("connections_refused_total"));
}

void tlsHandshake(std::string_view version, Registry& registry) {
  registry.add(id("tls_handshakes_total"), version);
}

void tlsFailure(Registry& registry) {
  registry.add(id("tls_failures_total"));
}

void checkDone(std::string_view check, std::chrono::microseconds took, bool timed_out,
               Registry& registry) {
  registry.observe(id("check_duration_seconds"), check,
                   static_cast<uint64_t>(std::max<int64_t>(0, took.count())));
  if (timed_out) registry.add(id("check_timeouts_total"), check);
}

}  // namespace spamgate::metrics
