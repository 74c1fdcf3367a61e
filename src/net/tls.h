// TLS for the SMTP listeners (OpenSSL through bufferevent_openssl). A context is loaded once per
// configuration snapshot, so SIGHUP picks up renewed certificates; sessions keep the context
// they started with.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace spamgate::net {

class TlsServerContext {
 public:
  // Throws std::runtime_error naming the file when the certificate or key is unusable.
  static std::shared_ptr<TlsServerContext> load(const config::Tls& tls);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  SSL* newSession() const;  // nullptr on allocation failure

 private:
  explicit TlsServerContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" for logs and Received.
std::string describeTls(SSL* ssl);
// The last OpenSSL error queue entry, as text.
std::string lastTlsError();

}  // namespace spamgate::net
