#include "metrics/http_endpoint.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace spamgate::metrics {

namespace {

constexpr int kRequestTimeoutSeconds = 10;
constexpr ev_ssize_t kMaxHeaders = 8192;
constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

uint16_t boundPort(evhttp_bound_socket* bound) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  auto* raw = reinterpret_cast<sockaddr*>(&address);
  if (getsockname(evhttp_bound_socket_get_fd(bound), raw, &length) != 0) return 0;
  if (raw->sa_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
}

void reply(evhttp_request* request, int code, const char* reason, const std::string& body) {
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Content-Type", kContentType);
  if (code == HTTP_BADMETHOD) evhttp_add_header(headers, "Allow", "GET");
  evbuffer* out = evbuffer_new();
  evbuffer_add(out, body.data(), body.size());
  evhttp_send_reply(request, code, reason, out);
  evbuffer_free(out);
}

}  // namespace

HttpEndpoint::HttpEndpoint(event_base* base, const config::Endpoint& listen, Registry& registry)
    : registry_(registry), http_(evhttp_new(base)) {
  if (http_ == nullptr) throw std::runtime_error("metrics: cannot create the HTTP server");
  evhttp_set_timeout(http_, kRequestTimeoutSeconds);
  evhttp_set_max_headers_size(http_, kMaxHeaders);
  evhttp_set_max_body_size(http_, 0);
  // Every method reaches onRequest, which answers 405 to all but GET.
  evhttp_set_allowed_methods(http_, static_cast<ev_uint16_t>(~0u));
  evhttp_set_gencb(http_, &HttpEndpoint::onRequest, this);
  errno = 0;
  evhttp_bound_socket* bound =
      evhttp_bind_socket_with_handle(http_, listen.host.c_str(), listen.port);
  if (bound == nullptr) {
    const std::string why = errno != 0 ? std::strerror(errno) : "cannot bind";
    evhttp_free(http_);
    throw std::runtime_error("metrics: cannot listen on " + listen.text() + ": " + why);
  }
  port_ = boundPort(bound);
}

HttpEndpoint::~HttpEndpoint() {
  evhttp_free(http_);
}

void HttpEndpoint::onRequest(evhttp_request* request, void* self) {
  auto* endpoint = static_cast<HttpEndpoint*>(self);
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
  const char* path = uri != nullptr ? evhttp_uri_get_path(uri) : nullptr;
  if (path == nullptr || std::strcmp(path, "/metrics") != 0) {
    return reply(request, HTTP_NOTFOUND, "Not Found", "not found: try /metrics\n");
  }
  if (evhttp_request_get_command(request) != EVHTTP_REQ_GET) {
    return reply(request, HTTP_BADMETHOD, "Method Not Allowed", "only GET\n");
  }
  reply(request, HTTP_OK, "OK", endpoint->registry_.render());
}

}  // namespace spamgate::metrics
