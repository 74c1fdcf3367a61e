// Where the sender-authentication checks (SPF, DKIM, DMARC) get their DNS answers: a source
// over the worker's resolver (Context::resolver), or, in tests, one a factory makes.
#pragma once

#include <functional>
#include <memory>

#include "auth/dns_source.h"
#include "pipeline/check.h"

namespace spamgate::checks {

// Called once per evaluation; the source it returns lives as long as the evaluation.
using AuthDnsFactory = std::function<std::unique_ptr<auth::DnsSource>(const pipeline::Context&)>;

// The factory's source when there is a factory, else one over context.resolver; null when
// there is neither (the check then reports a temperror).
std::unique_ptr<auth::DnsSource> authDns(const AuthDnsFactory& factory,
                                         const pipeline::Context& context);

}  // namespace spamgate::checks
