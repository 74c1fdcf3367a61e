#include "auth/dns_source.h"

#include "dns/resolver.h"

namespace spamgate::auth {

namespace {

class ResolverQuery final : public PendingQuery {
 public:
  explicit ResolverQuery(std::unique_ptr<dns::Lookup> lookup) : lookup_(std::move(lookup)) {}

 private:
  std::unique_ptr<dns::Lookup> lookup_;
};

class ResolverSource final : public DnsSource {
 public:
  explicit ResolverSource(dns::Resolver& resolver) : resolver_(resolver) {}
  std::unique_ptr<PendingQuery> query(std::string_view name, dns::Type type,
                                      Callback callback) override {
    return std::make_unique<ResolverQuery>(resolver_.lookup(name, type, std::move(callback)));
  }

 private:
  dns::Resolver& resolver_;
};

}  // namespace

std::unique_ptr<DnsSource> resolverSource(dns::Resolver& resolver) {
  return std::make_unique<ResolverSource>(resolver);
}

}  // namespace spamgate::auth
