#include "dns_servers.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "dns/codec.h"

namespace spamgate::dns::test {

namespace {

constexpr const char* kNsd = "/usr/sbin/nsd";

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

int bindLoopback(int type, uint16_t port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in addr = loopback(port);
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int bindLoopback6() {
  int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

uint16_t boundPort6(int fd) {
  sockaddr_in6 addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin6_port);
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string nsdConfig(const std::string& dir, uint16_t port, const std::vector<Zone>& zones) {
  std::ostringstream conf;
  conf << "server:\n"
       << "  zonesdir: \"" << dir << "\"\n"
       << "  ip-address: 127.0.0.1@" << port << "\n"
       << "  port: " << port << "\n"
       << "  do-ip4: yes\n  do-ip6: no\n  verbosity: 0\n  server-count: 1\n"
       << "  hide-version: yes\n  hide-identity: yes\n  database: \"\"\n"
       << "  zonelistfile: \"" << dir << "/zone.list\"\n"
       << "  xfrdfile: \"" << dir << "/xfrd.state\"\n"
       << "  pidfile: \"" << dir << "/nsd.pid\"\n"
       << "  logfile: \"" << dir << "/nsd.log\"\n"
       << "  chroot: \"\"\n  username: \"\"\n"
       << "  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\n"
       << "remote-control:\n  control-enable: no\n";
  for (const Zone& zone : zones) {
    conf << "zone:\n  name: \"" << zone.name << "\"\n  zonefile: \"" << dir << "/" << zone.name
         << ".zone\"\n";
  }
  return conf.str();
}

}  // namespace

uint16_t freePort() {
  for (int i = 0; i < 50; ++i) {
    int udp = bindLoopback(SOCK_DGRAM, 0);
    uint16_t port = udp >= 0 ? boundPort(udp) : 0;
    int tcp = port != 0 ? bindLoopback(SOCK_STREAM, port) : -1;
    if (udp >= 0) close(udp);
    if (tcp >= 0) {
      close(tcp);
      return port;
    }
  }
  return 0;
}

Nsd::Nsd(const std::vector<Zone>& zones) {
  if (access(kNsd, X_OK) != 0) {
    error_ = std::string(kNsd) + " is not installed (Debian package nsd)";
    return;
  }
  char tmpl[] = "/tmp/spamgate-nsd-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    error_ = "mkdtemp failed";
    return;
  }
  dir_ = tmpl;
  for (const Zone& zone : zones) {
    std::string text = zone.text.empty() ? readFile(zone.file) : zone.text;
    std::ofstream(dir_ + "/" + zone.name + ".zone") << text;
  }
  // The port is free when chosen but may be taken before nsd binds it: try a few.
  for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
    port_ = freePort();
    std::ofstream(dir_ + "/nsd.conf") << nsdConfig(dir_, port_, zones);
    if (start(zones.empty() ? "" : zones.front().name)) return;
  }
  error_ = "nsd did not start: " + readFile(dir_ + "/nsd.log") + readFile(dir_ + "/nsd.out");
}

bool Nsd::start(const std::string& probe_zone) {
  std::string conf = dir_ + "/nsd.conf";
  std::string out = dir_ + "/nsd.out";
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);  // nsd forks its server and xfrd: stop them all through the group
    int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(kNsd, "nsd", "-d", "-c", conf.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (pid < 0) return false;
  pid_ = pid;
  for (int i = 0; i < 500; ++i) {  // nsd takes ~0.2 s to load zones and fork its server
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) break;
    if (answers(probe_zone)) return true;
    usleep(10000);
  }
  stop();
  return false;
}

// True when a query for `zone` gets any reply (blocking, 100 ms).
bool Nsd::answers(const std::string& zone) const {
  Question question{zone, Type::A, 0x5a5a};
  std::vector<uint8_t> query = buildQuery(question, 0);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = loopback(port_);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, query.data(), query.size(), 0) > 0) {
    pollfd poller{fd, POLLIN, 0};
    uint8_t buffer[512];
    ok = poll(&poller, 1, 100) == 1 && recv(fd, buffer, sizeof buffer, 0) >= 12;
  }
  close(fd);
  return ok;
}

void Nsd::stop() {
  if (pid_ <= 0) return;
  kill(-pid_, SIGTERM);
  for (int i = 0; i < 300; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    usleep(10000);
  }
  kill(-pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

Nsd::~Nsd() {
  stop();
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

UdpServer::UdpServer(event_base* base, Handler handler, bool ipv6)
    : ipv6_(ipv6), handler_(std::move(handler)) {
  fd_ = ipv6 ? bindLoopback6() : bindLoopback(SOCK_DGRAM, 0);
  if (fd_ < 0) return;
  port_ = ipv6 ? boundPort6(fd_) : boundPort(fd_);
  if (handler_) {
    evutil_make_socket_nonblocking(fd_);
    event_ = event_new(base, fd_, EV_READ | EV_PERSIST, &UdpServer::onReadable, this);
    event_add(event_, nullptr);
  }
}

UdpServer::~UdpServer() {
  if (event_ != nullptr) event_free(event_);
  if (fd_ >= 0) close(fd_);
}

void UdpServer::send(const std::vector<uint8_t>& datagram, const sockaddr_storage& to,
                     socklen_t length) {
  sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&to), length);
}

void UdpServer::onReadable(int, short, void* self) {
  auto* server = static_cast<UdpServer*>(self);
  std::vector<uint8_t> buffer(65536);
  sockaddr_storage from{};
  socklen_t length = sizeof from;
  ssize_t got = recvfrom(server->fd_, buffer.data(), buffer.size(), 0,
                         reinterpret_cast<sockaddr*>(&from), &length);
  if (got < 0) return;
  buffer.resize(static_cast<std::size_t>(got));
  ++server->received_;
  server->handler_(*server, buffer, from, length);
}

UdpProxy::UdpProxy(event_base* base, uint16_t upstream_port)
    : front_(base, [this](UdpServer&, const std::vector<uint8_t>& query,
                          const sockaddr_storage& from, socklen_t length) {
        client_ = from;
        client_length_ = length;
        ++forwarded_;
        ::send(upstream_fd_, query.data(), query.size(), 0);
      }) {
  upstream_fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in upstream = loopback(upstream_port);
  connect(upstream_fd_, reinterpret_cast<sockaddr*>(&upstream), sizeof upstream);
  upstream_event_ =
      event_new(base, upstream_fd_, EV_READ | EV_PERSIST, &UdpProxy::onUpstream, this);
  event_add(upstream_event_, nullptr);
}

UdpProxy::~UdpProxy() {
  event_free(upstream_event_);
  close(upstream_fd_);
}

void UdpProxy::onUpstream(int, short, void* self) {
  auto* proxy = static_cast<UdpProxy*>(self);
  std::vector<uint8_t> buffer(65536);
  ssize_t got = recv(proxy->upstream_fd_, buffer.data(), buffer.size(), 0);
  if (got < 0 || proxy->client_length_ == 0) return;
  buffer.resize(static_cast<std::size_t>(got));
  proxy->front_.send(buffer, proxy->client_, proxy->client_length_);
}

}  // namespace spamgate::dns::test
