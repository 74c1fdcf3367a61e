#include "net/listener.h"

#include <arpa/inet.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace spamgate::net {

Listener::Listener(event_base* base, const config::Endpoint& endpoint, OnAccept on_accept)
    : on_accept_(std::move(on_accept)) {
  sockaddr_storage storage{};
  int length = sizeof storage;
  const std::string text = endpoint.text();
  if (evutil_parse_sockaddr_port(text.c_str(), reinterpret_cast<sockaddr*>(&storage), &length) !=
      0) {
    throw std::runtime_error("listen " + text + ": not an address");
  }
  const unsigned flags =
      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_EXEC;
  listener_ = evconnlistener_new_bind(base, &Listener::onAccept, this, flags, 1024,
                                      reinterpret_cast<sockaddr*>(&storage), length);
  if (listener_ == nullptr) {
    throw std::runtime_error("listen " + text + ": " + std::strerror(errno));
  }
}

Listener::~Listener() {
  evconnlistener_free(listener_);
}

void Listener::onAccept(evconnlistener*, int fd, sockaddr* address, int length, void* self) {
  static_cast<Listener*>(self)->on_accept_(fd, address, length);
}

std::string addressText(const sockaddr* address) {
  char buffer[INET6_ADDRSTRLEN] = "";
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &v4->sin_addr, buffer, sizeof buffer);
  } else if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &v6->sin6_addr, buffer, sizeof buffer);
  }
  return buffer;
}

uint16_t addressPort(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(address)->sin_port);
  }
  if (address->sa_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(address)->sin6_port);
  }
  return 0;
}

}  // namespace spamgate::net
