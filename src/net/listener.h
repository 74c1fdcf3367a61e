// A listening socket on one event loop. Every worker binds its own socket to each endpoint with
// SO_REUSEPORT, so the kernel spreads connections over the workers without a shared accept.
#pragma once

#include <sys/socket.h>

#include <functional>

#include "config/config.h"

struct event_base;
struct evconnlistener;

namespace spamgate::net {

class Listener {
 public:
  using OnAccept = std::function<void(int fd, const sockaddr* address, int length)>;
  // Throws std::runtime_error when the endpoint cannot be bound.
  Listener(event_base* base, const config::Endpoint& endpoint, OnAccept on_accept);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

 private:
  static void onAccept(evconnlistener*, int fd, sockaddr* address, int length, void* self);
  OnAccept on_accept_;
  evconnlistener* listener_ = nullptr;
};

// "192.0.2.1" / "2001:db8::1" and the port of a socket address.
std::string addressText(const sockaddr* address);
uint16_t addressPort(const sockaddr* address);

}  // namespace spamgate::net
