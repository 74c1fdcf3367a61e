// Decision ids: short, unique across restarts and workers, sortable by time, safe to quote in
// an SMTP reply ("250 2.0.0 Ok: queued as 2F7H9K3M8QZ4T6A1"). 16 characters of Crockford base32:
// 10 for 50 bits of Unix milliseconds, then 6 for the low 30 bits of a per-process counter that
// starts at a random value.
#pragma once

#include <string>

namespace spamgate::base {

std::string newDecisionId();

}  // namespace spamgate::base
