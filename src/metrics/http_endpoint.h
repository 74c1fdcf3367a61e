// The metrics endpoint: an HTTP server (libevent's evhttp) on the given event loop that answers
// GET /metrics with the registry's exposition (200, text/plain; version=0.0.4), any other path
// with 404 and any other method with 405. Each request is rendered on the loop's thread; the
// workers keep recording meanwhile (relaxed atomics).
//
// Errors: the constructor throws std::runtime_error when the address cannot be bound (start-up
// only). Bounds: 10 s per request, 8 KiB of headers, no request body.
// Hazards: loop thread only; the event_base must outlive the endpoint. Destroying the endpoint
// closes the listening socket and any request in progress.
#pragma once

#include "config/config.h"
#include "metrics/registry.h"

struct event_base;
struct evhttp;
struct evhttp_request;

namespace spamgate::metrics {

class HttpEndpoint {
 public:
  HttpEndpoint(event_base* base, const config::Endpoint& listen, Registry& registry = global());
  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  // The bound port (useful with port 0 in tests).
  uint16_t port() const { return port_; }

 private:
  static void onRequest(evhttp_request* request, void* self);

  Registry& registry_;
  evhttp* http_;
  uint16_t port_ = 0;
};

}  // namespace spamgate::metrics
