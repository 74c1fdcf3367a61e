// Test helpers for the relay backend: an event loop runner, a real Postfix smtp-sink on a free
// loopback port, and a scripted loopback SMTP server (plain sockets, optional TLS, one thread).
// Loopback only: every socket binds or connects to 127.0.0.1.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/event_loop.h"

struct event_base;
struct ssl_st;
struct ssl_ctx_st;

namespace spamgate::relay::test {

using spamgate::test::runFor;
using spamgate::test::runUntil;

// A loopback port with nothing listening on it (bound, then closed).
uint16_t freePort();

class SmtpSink {
 public:
  // Starts /usr/sbin/smtp-sink on 127.0.0.1:freePort() with `args` and a dump directory;
  // ok() is false when it could not be started (the test then skips).
  explicit SmtpSink(std::vector<std::string> args);
  ~SmtpSink();  // SIGTERM by PID, then waitpid
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  bool ok() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  // Contents of the dump files, concatenated (smtp-sink writes them with LF line endings).
  std::string dumps() const;

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string dir_;
};

// One accepted connection of the ScriptServer, with blocking I/O bounded by a 5 s timeout.
class ScriptServer;

class Peer {
 public:
  Peer(int fd, ssl_ctx_st* tls, ScriptServer* server) : fd_(fd), tls_ctx_(tls), server_(server) {}
  ~Peer();
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  void send(const std::string& text);
  // The next line without CRLF; false on EOF/timeout.
  bool readLine(std::string& line);
  // Reads the message after 354 up to the "." line; returns it as sent (still dot-stuffed).
  bool readData(std::string& data);
  // Expects the next line to start with `prefix` (case-sensitive); records it either way.
  bool expect(const std::string& prefix);
  bool startTls();  // server side of STARTTLS, after "220" was sent
  void close();

 private:
  long rawRead(char* buf, std::size_t len);
  int fd_;
  ssl_ctx_st* tls_ctx_;
  ScriptServer* server_;
  ssl_st* ssl_ = nullptr;
  std::string buffer_;
};

class ScriptServer {
 public:
  using Script = std::function<void(Peer& peer, int connection)>;
  // Listens on 127.0.0.1 (ephemeral port) and runs `script` for each accepted connection in
  // turn on its own thread. `tls`: the server context for Peer::startTls (may be null).
  explicit ScriptServer(Script script, ssl_ctx_st* tls = nullptr);
  ~ScriptServer();
  ScriptServer(const ScriptServer&) = delete;
  ScriptServer& operator=(const ScriptServer&) = delete;

  uint16_t port() const { return port_; }
  int connections() const;
  // Everything the client sent, line by line, across connections (thread-safe copy).
  std::vector<std::string> lines() const;
  void record(const std::string& line);
  void finishScript();  // the script ran to its end

  bool scriptsFinished(int n) const;

 private:
  void run();

  Script script_;
  ssl_ctx_st* tls_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
  int connections_ = 0;
  int finished_ = 0;
  std::thread thread_;
};

// A self-signed server context for the TLS tests (EC P-256, CN=localhost).
ssl_ctx_st* makeTestServerTlsContext();

}  // namespace spamgate::relay::test
