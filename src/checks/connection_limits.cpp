#include "checks/connection_limits.h"

namespace spamgate::checks {

namespace {

pipeline::CheckResult refuse(std::string symbol, std::string detail, std::string text) {
  policy::Opinion opinion{policy::Action::Disconnect, smtp::makeReply(421, "4.7.0", text, true),
                          "connection_limits: " + symbol};
  return pipeline::CheckResult{{policy::Symbol{std::move(symbol), 0, std::move(detail)}},
                               std::move(opinion)};
}

}  // namespace

std::unique_ptr<pipeline::PendingCheck> ConnectionLimits::start(pipeline::Stage,
                                                                const pipeline::Context& context,
                                                                pipeline::CheckDone done) {
  const auto now = counts_.current(context.client_ip);
  if (now.total > settings_.max_connections) {
    done(refuse("CONN_LIMIT_TOTAL",
                std::to_string(now.total) + " connections, limit " +
                    std::to_string(settings_.max_connections),
                "Too many connections, try again later"));
  } else if (now.from_ip > settings_.max_connections_per_ip) {
    done(refuse("CONN_LIMIT_IP",
                std::to_string(now.from_ip) + " connections from " + context.client_ip +
                    ", limit " + std::to_string(settings_.max_connections_per_ip),
                "Too many connections from your address, try again later"));
  } else {
    done({});
  }
  return nullptr;
}

}  // namespace spamgate::checks
