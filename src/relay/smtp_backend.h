// The SMTP backend (config.backend.address): Relay and Transaction over BackendConnection.
//
// One Transaction uses its own backend connection (as Postfix smtpd_proxy), opened at mail().
// Reply mapping (relay.h): a positive backend reply becomes our own 250 2.1.0 / 2.1.5 / 2.0.0
// "Ok" (the final one with queue_id from "queued as X"); a 4xx/5xx to MAIL, RCPT, DATA or the
// message passes through (with "4.0.0"/"5.0.0" when it had no enhanced code); a reply the
// command does not allow becomes 451 4.3.0. Failures: not reachable, refused, or broken during
// setup (greeting, EHLO, STARTTLS, XCLIENT): 421 4.4.1 (closes); a timeout, a dropped
// connection or a 421 after setup: 451 4.4.1; garbage from the backend: 451 4.3.0. `detail`
// always carries the backend's reply or the error.
//
// Replay: when the connection has died by the time rcpt() or deliver() is called (the backend
// timed out an idle session while the client was slow), a fresh connection gets MAIL and the
// recipients accepted so far, and only then the new command; a replayed command that is not
// accepted again fails the call with 451 4.4.1 (never a silent loss of a recipient). deliver()
// on a connection that dies before DATA was answered with 354 retries once on a fresh one.
//
// SIZE: mail() sends SIZE= when the backend offers SIZE and the size is known: the client's
// declared SIZE when `params` still carries one, the real message size on a replay at deliver().
//
// Callbacks never run inline (connect errors come from the loop); each may destroy the
// Transaction, which then releases its connection (RSET + QUIT, or close).
#pragma once

#include <memory>

#include "config/config.h"
#include "relay/relay.h"

struct event_base;

namespace spamgate::relay {

std::unique_ptr<Relay> makeSmtpRelay(event_base* base, config::Snapshot config);

}  // namespace spamgate::relay
