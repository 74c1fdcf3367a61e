// Connection limits as a check at the connect stage: more than max_connections in total, or
// more than max_connections_per_ip from one client address, gets 421 4.7.0 and the connection
// is closed (Postfix smtpd_client_connection_count_limit). The counts include the connection
// being checked.
#pragma once

#include "pipeline/check.h"
#include "store/connection_counts.h"

namespace spamgate::checks {

struct ConnectionLimitsSettings {
  unsigned max_connections = 1000;
  unsigned max_connections_per_ip = 20;
};

class ConnectionLimits final : public pipeline::Check {
 public:
  ConnectionLimits(const store::ConnectionCounts& counts, ConnectionLimitsSettings settings)
      : counts_(counts), settings_(settings) {}

  std::string_view name() const override { return "connection_limits"; }
  bool runsAt(pipeline::Stage stage) const override { return stage == pipeline::Stage::Connect; }
  std::unique_ptr<pipeline::PendingCheck> start(pipeline::Stage stage,
                                                const pipeline::Context& context,
                                                pipeline::CheckDone done) override;

 private:
  const store::ConnectionCounts& counts_;
  ConnectionLimitsSettings settings_;
};

}  // namespace spamgate::checks
