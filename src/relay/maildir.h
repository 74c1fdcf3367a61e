// The Maildir backend (config.backend.maildir): the message is written to PATH/tmp, fsynced,
// renamed into PATH/new and the new/ directory fsynced; only then the client gets 250. The
// blocking file work runs on the WorkerPool, the result comes back on the loop.
//
// Contract (relay.h): mail() and rcpt() answer 250 2.1.0 / 250 2.1.5 inline; deliver() answers
// 250 2.0.0 with queue_id = the file name, or 451 4.3.0 with the errno text in `detail` on any
// disk error, or (inline) when the pool's queue is full. The file starts with
// "Return-Path: <sender>" and "Delivered-To: first-recipient" (Postfix local(8) style), then the
// message byte for byte (a final CRLF added when it lacks one). PATH, tmp/, new/ and cur/ are
// created (mode 0700) when missing. File names follow the Maildir spec:
// "<sec>.M<usec>P<pid>T<tid>Q<counter>.<host>" ('/' and ':' in the host escaped as \057, \072).
//
// Destroying the Transaction: no callback; a write not yet started is skipped, one already done
// stays (the client never saw 250 and sends again: a duplicate, never a loss).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "relay/relay.h"

namespace spamgate::relay {

std::unique_ptr<Relay> makeMaildirRelay(config::Snapshot config, net::LoopInbox& inbox,
                                        net::WorkerPool& pool);

// The blocking part, for the pool (and tests).
struct MaildirResult {
  bool ok = false;
  std::string file_name;  // in new/
  std::string error;      // "open /x/tmp/NAME: Permission denied"
};
MaildirResult writeMaildirMessage(const std::string& root, const std::string& unique_name,
                                  std::string_view headers, std::string_view message);
std::string maildirUniqueName(std::string_view hostname);

}  // namespace spamgate::relay
