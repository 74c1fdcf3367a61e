#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>

namespace spamgate::net {

namespace {

int protocolVersion(config::TlsVersion version) {
  switch (version) {
    case config::TlsVersion::Tls1_0:
      return TLS1_VERSION;
    case config::TlsVersion::Tls1_1:
      return TLS1_1_VERSION;
    case config::TlsVersion::Tls1_2:
      return TLS1_2_VERSION;
    case config::TlsVersion::Tls1_3:
      return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

}  // namespace

std::string lastTlsError() {
  char buffer[256];
  ERR_error_string_n(ERR_get_error(), buffer, sizeof buffer);
  ERR_clear_error();
  return buffer;
}

std::shared_ptr<TlsServerContext> TlsServerContext::load(const config::Tls& tls) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) throw std::runtime_error("TLS: " + lastTlsError());
  std::shared_ptr<TlsServerContext> context(new TlsServerContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, protocolVersion(tls.min_version));
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);  // idle sessions keep no TLS buffers
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.certificate.c_str()) != 1) {
    throw std::runtime_error("tls.certificate " + tls.certificate + ": " + lastTlsError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw std::runtime_error("tls.private_key " + tls.private_key + ": " + lastTlsError());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    throw std::runtime_error("tls.private_key " + tls.private_key +
                             " does not match tls.certificate: " + lastTlsError());
  }
  return context;
}

TlsServerContext::~TlsServerContext() {
  SSL_CTX_free(ctx_);
}

SSL* TlsServerContext::newSession() const {
  return SSL_new(ctx_);
}

std::string describeTls(SSL* ssl) {
  if (ssl == nullptr) return {};
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  int alg_bits = 0;
  const int bits = SSL_CIPHER_get_bits(cipher, &alg_bits);
  return std::string(SSL_get_version(ssl)) + " with cipher " + SSL_CIPHER_get_name(cipher) + " (" +
         std::to_string(bits) + "/" + std::to_string(alg_bits) + " bits)";
}

}  // namespace spamgate::net
