#include "test_servers.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace spamgate::relay::test {

namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

uint16_t boundPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

bool canConnect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

uint16_t freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(0);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  uint16_t port = boundPort(fd);
  ::close(fd);
  return port;
}

SmtpSink::SmtpSink(std::vector<std::string> args) {
  if (access("/usr/sbin/smtp-sink", X_OK) != 0) return;
  char tmpl[] = "/tmp/relay-sink-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return;
  dir_ = tmpl;
  chmod(dir_.c_str(), 0777);  // smtp-sink drops to nobody when started as root
  port_ = freePort();
  std::vector<std::string> argv = {"smtp-sink"};
  if (geteuid() == 0) argv.insert(argv.end(), {"-u", "nobody"});
  argv.insert(argv.end(), {"-d", dir_ + "/%M."});
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"127.0.0.1:" + std::to_string(port_), "16"});
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> cargv;
    for (auto& a : argv)
      cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv("/usr/sbin/smtp-sink", cargv.data());
    _exit(127);
  }
  pid_ = pid;
  for (int i = 0; i < 300 && !canConnect(port_); ++i)
    usleep(10000);
}

SmtpSink::~SmtpSink() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

std::string SmtpSink::dumps() const {
  std::string out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    out += text.str();
  }
  return out;
}

Peer::~Peer() {
  close();
}

void Peer::close() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Peer::send(const std::string& text) {
  if (fd_ < 0) return;
  if (ssl_ != nullptr) {
    SSL_write(ssl_, text.data(), static_cast<int>(text.size()));
    return;
  }
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::send(fd_, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

long Peer::rawRead(char* buf, std::size_t len) {
  if (fd_ < 0) return -1;
  if (ssl_ != nullptr) {
    if (SSL_pending(ssl_) == 0) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) return -1;
    }
    return SSL_read(ssl_, buf, static_cast<int>(len));
  }
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, 5000) <= 0) return -1;
  return recv(fd_, buf, len, 0);
}

bool Peer::readLine(std::string& line) {
  for (;;) {
    std::size_t nl = buffer_.find("\r\n");
    if (nl != std::string::npos) {
      line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 2);
      return true;
    }
    char buf[4096];
    long n = rawRead(buf, sizeof buf);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<std::size_t>(n));
  }
}

bool Peer::readData(std::string& data) {
  std::string line;
  while (readLine(line)) {
    if (line == ".") return true;
    data += line + "\r\n";
  }
  return false;
}

bool Peer::expect(const std::string& prefix) {
  std::string line;
  if (!readLine(line)) return false;
  server_->record(line);
  return line.rfind(prefix, 0) == 0;
}

bool Peer::startTls() {
  if (tls_ctx_ == nullptr || !buffer_.empty()) return false;
  ssl_ = SSL_new(tls_ctx_);
  SSL_set_fd(ssl_, fd_);
  timeval tv{5, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return SSL_accept(ssl_) == 1;
}

ScriptServer::ScriptServer(Script script, ssl_ctx_st* tls) : script_(std::move(script)), tls_(tls) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = loopback(0);
  bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  listen(listen_fd_, 8);
  port_ = boundPort(listen_fd_);
  thread_ = std::thread([this] { run(); });
}

ScriptServer::~ScriptServer() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

void ScriptServer::run() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    int index;
    {
      std::lock_guard lock(mutex_);
      index = connections_++;
    }
    Peer peer(fd, tls_, this);
    script_(peer, index);
    finishScript();
  }
}

int ScriptServer::connections() const {
  std::lock_guard lock(mutex_);
  return connections_;
}

std::vector<std::string> ScriptServer::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

void ScriptServer::record(const std::string& line) {
  std::lock_guard lock(mutex_);
  lines_.push_back(line);
}

void ScriptServer::finishScript() {
  std::lock_guard lock(mutex_);
  ++finished_;
}

bool ScriptServer::scriptsFinished(int n) const {
  std::lock_guard lock(mutex_);
  return finished_ >= n;
}

ssl_ctx_st* makeTestServerTlsContext() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(ctx, cert);
  SSL_CTX_use_PrivateKey(ctx, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ctx;
}

}  // namespace spamgate::relay::test
