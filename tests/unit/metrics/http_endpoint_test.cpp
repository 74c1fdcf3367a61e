// HttpEndpoint on a real loopback socket: GET /metrics, 404, 405, and a bind failure.
#include "metrics/http_endpoint.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include "support/event_loop.h"

namespace spamgate::metrics {
namespace {

// Sends `request` to 127.0.0.1:port and reads until the server closes.
std::string exchange(uint16_t port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;)
      response.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  return response;
}

class HttpEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override { base_ = event_base_new(); }
  void TearDown() override { event_base_free(base_); }

  // One request against an endpoint on this test's loop.
  std::string ask(HttpEndpoint& endpoint, const std::string& request) {
    std::atomic<bool> done{false};
    std::string response;
    std::thread client([&] {
      response = exchange(endpoint.port(), request);
      done = true;
    });
    test::runUntil(base_, [&] { return done.load(); });
    client.join();
    return response;
  }

  event_base* base_ = nullptr;
  Registry registry_;
};

TEST_F(HttpEndpointTest, ServesMetrics) {
  HttpEndpoint endpoint(base_, config::Endpoint{"127.0.0.1", 0}, registry_);
  ASSERT_NE(endpoint.port(), 0);
  registry_.add(id("connections_total"), {}, 7);
  const auto response = ask(endpoint, "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(response.find("\r\n\r\n# HELP spamgate_"), std::string::npos);
  EXPECT_NE(response.find("\nspamgate_connections_total 7\n"), std::string::npos) << response;
}

TEST_F(HttpEndpointTest, OtherPathIs404) {
  HttpEndpoint endpoint(base_, config::Endpoint{"127.0.0.1", 0}, registry_);
  const auto response = ask(endpoint, "GET /metricsx HTTP/1.0\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.0 404 ", 0), 0u) << response;
  EXPECT_EQ(response.find("spamgate_"), std::string::npos);
}

TEST_F(HttpEndpointTest, OtherMethodIs405) {
  HttpEndpoint endpoint(base_, config::Endpoint{"127.0.0.1", 0}, registry_);
  const auto response = ask(endpoint, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.0 405 ", 0), 0u) << response;
  EXPECT_NE(response.find("Allow: GET"), std::string::npos);
}

TEST_F(HttpEndpointTest, BindFailureThrowsWithTheAddress) {
  HttpEndpoint first(base_, config::Endpoint{"127.0.0.1", 0}, registry_);
  try {
    HttpEndpoint second(base_, config::Endpoint{"127.0.0.1", first.port()}, registry_);
    FAIL() << "bound twice";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(first.port())),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace spamgate::metrics
