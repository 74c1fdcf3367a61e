#include "checks/auth_dns.h"

namespace spamgate::checks {

std::unique_ptr<auth::DnsSource> authDns(const AuthDnsFactory& factory,
                                         const pipeline::Context& context) {
  if (factory) return factory(context);
  if (context.resolver == nullptr) return nullptr;
  return auth::resolverSource(*context.resolver);
}

}  // namespace spamgate::checks
