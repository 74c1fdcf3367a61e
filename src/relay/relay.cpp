#include "relay/relay.h"

#include <utility>

#include "relay/maildir.h"
#include "relay/smtp_backend.h"

namespace spamgate::relay {

std::unique_ptr<Relay> makeRelay(event_base* base, config::Snapshot config, net::LoopInbox& inbox,
                                 net::WorkerPool& pool) {
  if (config->backend.isMaildir()) return makeMaildirRelay(std::move(config), inbox, pool);
  return makeSmtpRelay(base, std::move(config));
}

}  // namespace spamgate::relay
