// dkim_sign DOMAIN SELECTOR KEYFILE [rsa-sha256|rsa-sha1|ed25519-sha256] < message > signed
// Signs a CRLF message with libopendkim (relaxed/relaxed, From To Subject Date Message-ID) for
// the end-to-end tests: opendkim-testmsg signs with rsa-sha1 and every header field, which a
// verifier following RFC 8301 must fail.
#include "auth/opendkim_cxx.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

namespace {

std::string readAll(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

dkim_alg_t algorithm(const std::string& name) {
  if (name == "rsa-sha1") return DKIM_SIGN_RSASHA1;
  if (name == "ed25519-sha256") return DKIM_SIGN_ED25519SHA256;
  return DKIM_SIGN_RSASHA256;
}

int fail(const char* what, DKIM_STAT status) {
  std::fprintf(stderr, "dkim_sign: %s: %s\n", what, dkim_getresultstr(status));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: dkim_sign DOMAIN SELECTOR KEYFILE [ALGORITHM] < message\n");
    return 2;
  }
  std::ifstream key_file(argv[3]);
  std::string key = readAll(key_file);
  std::string message = readAll(std::cin);
  DKIM_LIB* lib = dkim_init(nullptr, nullptr);
  const char* headers[] = {"from", "to", "subject", "date", "message-id", nullptr};
  dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, headers, sizeof headers);
  DKIM_STAT status = DKIM_STAT_OK;
  DKIM* dkim = dkim_sign(lib, reinterpret_cast<const unsigned char*>("test"), nullptr,
                         reinterpret_cast<dkim_sigkey_t>(key.data()),
                         reinterpret_cast<const unsigned char*>(argv[2]),
                         reinterpret_cast<const unsigned char*>(argv[1]), DKIM_CANON_RELAXED,
                         DKIM_CANON_RELAXED, algorithm(argc > 4 ? argv[4] : ""), -1, &status);
  if (dkim == nullptr) return fail("dkim_sign", status);
  status = dkim_chunk(dkim, reinterpret_cast<unsigned char*>(message.data()), message.size());
  if (status != DKIM_STAT_OK) return fail("dkim_chunk", status);
  status = dkim_chunk(dkim, nullptr, 0);
  if (status != DKIM_STAT_OK) return fail("dkim_chunk end", status);
  status = dkim_eom(dkim, nullptr);
  if (status != DKIM_STAT_OK) return fail("dkim_eom", status);
  unsigned char* value = nullptr;
  std::size_t length = 0;
  const char prefix[] = "DKIM-Signature: ";
  status = dkim_getsighdr_d(dkim, std::strlen(prefix), &value, &length);
  if (status != DKIM_STAT_OK) return fail("dkim_getsighdr_d", status);
  std::string header(reinterpret_cast<char*>(value), length);
  std::string out = prefix;
  for (char c : header) {
    if (c == '\n') out += '\r';
    out += c;
  }
  std::cout << out << "\r\n" << message;
  dkim_free(dkim);
  dkim_close(lib);
  return 0;
}
