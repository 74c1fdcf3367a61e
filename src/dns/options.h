// The resolver's settings and the nameserver addresses it talks to. The composition root fills
// Options from the `[dns]` config section; without one, fromResolvConf() gives the system's.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spamgate::dns {

struct Options {
  // "ip:port" for IPv4, "[ip6]:port" for IPv6; a bare address means port 53.
  std::vector<std::string> nameservers;
  std::chrono::milliseconds timeout{2000};  // per try
  unsigned attempts = 2;  // tries in all, rotating over the nameservers (deadline: x timeout)
  std::size_t cache_max_entries = 100000;
  std::size_t cache_max_bytes = 32u * 1024 * 1024;  // approximate, keys and records
  std::chrono::seconds positive_ttl_cap{86400};
  std::chrono::seconds negative_ttl_cap{3600};
  // SERVFAIL and REFUSED answers are kept this long (0: not at all) so that a broken zone is
  // not asked again by every connection; timeouts and local errors are never cached.
  std::chrono::seconds failure_ttl{5};
  std::size_t max_in_flight = 4096;  // distinct questions on the wire; more -> LocalError
  uint16_t edns_buffer = 1232;       // EDNS0 UDP payload size (DNS flag day 2020)

  // Nameservers and the `timeout:`/`attempts:` options of a resolv.conf (glibc's syntax:
  // timeout in seconds, attempts taken as the total number of tries). Without a usable
  // nameserver line: 127.0.0.1:53, as glibc. A missing file gives the same defaults.
  static Options fromResolvConf(const std::string& path = "/etc/resolv.conf");
};

// A parsed nameserver address.
struct Nameserver {
  sockaddr_storage address{};
  socklen_t length = 0;
  std::string text;  // "127.0.0.1:53" / "[::1]:53", for logs

  // True when `from` is this address and port (the source check of a UDP answer).
  bool matches(const sockaddr_storage& from, socklen_t from_length) const;
};

// Parses "ip:port", "[ip6]:port" or a bare address (port 53). Empty on anything else.
std::optional<Nameserver> parseNameserver(std::string_view text);

}  // namespace spamgate::dns
