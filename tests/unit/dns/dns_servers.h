// Test servers for the resolver, all on 127.0.0.1: a real nsd (Debian's) with test zones, a
// scripted UDP server on the test's event loop (black hole, forger, counting proxy), and loop
// helpers. Nothing here ever talks to another address.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "support/event_loop.h"

struct event;
struct event_base;

namespace spamgate::dns::test {

using spamgate::test::runFor;
using spamgate::test::runUntil;

// A 127.0.0.1 port free for both UDP and TCP just now.
uint16_t freePort();

struct Zone {
  std::string name;  // "fwd.test"
  std::string text;  // zone file contents, or empty to copy `file`
  std::string file;  // an existing zone file
};

class Nsd {
 public:
  // Writes the zones and an nsd.conf into a temp dir and starts `nsd -d` on a free port of
  // 127.0.0.1 (UDP and TCP), in its own process group; waits until it answers. ok() false
  // (see error()) when nsd is missing or would not start: the test then skips or fails.
  explicit Nsd(const std::vector<Zone>& zones);
  ~Nsd();  // SIGTERM to its process group (our child's PID), waitpid, remove the temp dir
  Nsd(const Nsd&) = delete;
  Nsd& operator=(const Nsd&) = delete;

  bool ok() const { return pid_ > 0; }
  const std::string& error() const { return error_; }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  bool start(const std::string& probe_zone);
  bool answers(const std::string& zone) const;
  void stop();

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string dir_;
  std::string error_;
};

// A UDP socket on 127.0.0.1 (or ::1) read by the test's loop. Without a handler it never
// reads: a black-hole nameserver. ok() is false when ::1 is not available.
class UdpServer {
 public:
  using Handler = std::function<void(UdpServer& server, const std::vector<uint8_t>& datagram,
                                     const sockaddr_storage& from, socklen_t from_length)>;
  UdpServer(event_base* base, Handler handler, bool ipv6 = false);
  ~UdpServer();
  UdpServer(const UdpServer&) = delete;
  UdpServer& operator=(const UdpServer&) = delete;

  void send(const std::vector<uint8_t>& datagram, const sockaddr_storage& to, socklen_t length);
  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }
  std::string address() const { return (ipv6_ ? "[::1]:" : "127.0.0.1:") + std::to_string(port_); }
  int received() const { return received_; }

 private:
  static void onReadable(int fd, short what, void* self);
  int fd_ = -1;
  bool ipv6_ = false;
  uint16_t port_ = 0;
  event* event_ = nullptr;
  Handler handler_;
  int received_ = 0;
};

// Relays datagrams between a client and an upstream nameserver on 127.0.0.1, counting the
// queries it forwards (what the upstream sees). Replies go to the client of the last query.
class UdpProxy {
 public:
  UdpProxy(event_base* base, uint16_t upstream_port);
  ~UdpProxy();
  UdpProxy(const UdpProxy&) = delete;
  UdpProxy& operator=(const UdpProxy&) = delete;

  std::string address() const { return front_.address(); }
  int forwarded() const { return forwarded_; }

 private:
  static void onUpstream(int fd, short what, void* self);
  UdpServer front_;
  int upstream_fd_ = -1;
  event* upstream_event_ = nullptr;
  sockaddr_storage client_{};
  socklen_t client_length_ = 0;
  int forwarded_ = 0;
};

}  // namespace spamgate::dns::test
