#include "dns/exchange.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <utility>

namespace spamgate::dns {

namespace {

using std::chrono::milliseconds;

// Answers read per wakeup: a flood of junk datagrams cannot keep the loop in one callback.
constexpr int kMaxDatagramsPerWakeup = 16;

uint16_t randomId() {
  return static_cast<uint16_t>(arc4random_uniform(65536));  // glibc 2.36: getrandom-backed
}

}  // namespace

Exchange::Exchange(Transport& transport, Question question, std::vector<uint8_t> query, Done done)
    : transport_(transport),
      question_(std::move(question)),
      query_(std::move(query)),
      done_(std::move(done)) {}

Exchange::~Exchange() {
  closeSockets();
  if (timer_ != nullptr) event_free(timer_);
}

void Exchange::onUdpCb(int, short, void* self) {
  static_cast<Exchange*>(self)->onUdpReadable();
}

void Exchange::onTimerCb(int, short, void* self) {
  static_cast<Exchange*>(self)->onTimer();
}

void Exchange::onTcpReadCb(bufferevent*, void* self) {
  static_cast<Exchange*>(self)->onTcpReadable();
}

void Exchange::onTcpEventCb(bufferevent*, short what, void* self) {
  if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) == 0) return;
  auto* exchange = static_cast<Exchange*>(self);
  exchange->failure_ = Status::Timeout;  // the server went away without an answer
  exchange->advance();
}

void Exchange::start() {
  timer_ = evtimer_new(transport_.base, &Exchange::onTimerCb, this);
  if (timer_ == nullptr) std::abort();  // out of memory: no deadline could be kept
  deadline_ = Clock::now() + transport_.timeout * transport_.attempts;
  beginTry();
}

const Nameserver& Exchange::server() const {
  return transport_.servers[attempt_ % transport_.servers.size()];
}

void Exchange::beginTry() {
  closeSockets();
  question_.id = randomId();
  setQueryId(query_, question_.id);
  if (!openUdp()) {
    fail(Status::LocalError);
    return;
  }
  ++transport_.stats->udp_sent;
  arm(tryBudget());
}

bool Exchange::openUdp() {
  const Nameserver& to = server();
  udp_fd_ = socket(to.address.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (udp_fd_ < 0) return false;
  // connect(): the kernel picks a random source port and reports ICMP errors to us.
  if (connect(udp_fd_, reinterpret_cast<const sockaddr*>(&to.address), to.length) != 0) {
    return false;
  }
  udp_event_ = event_new(transport_.base, udp_fd_, EV_READ | EV_PERSIST, &Exchange::onUdpCb, this);
  if (udp_event_ == nullptr || event_add(udp_event_, nullptr) != 0) return false;
  ssize_t sent = send(udp_fd_, query_.data(), query_.size(), 0);
  return sent == static_cast<ssize_t>(query_.size());
}

void Exchange::beginTcp() {
  closeSockets();
  const Nameserver& to = server();
  tcp_ = bufferevent_socket_new(transport_.base, -1, BEV_OPT_CLOSE_ON_FREE);
  if (tcp_ == nullptr) {
    fail(Status::LocalError);
    return;
  }
  bufferevent_setcb(tcp_, &Exchange::onTcpReadCb, nullptr, &Exchange::onTcpEventCb, this);
  bufferevent_enable(tcp_, EV_READ | EV_WRITE);
  // RFC 1035 4.2.2: a two-octet length, then the message; written once connected.
  const uint8_t prefix[2] = {static_cast<uint8_t>(query_.size() >> 8),
                             static_cast<uint8_t>(query_.size() & 0xff)};
  bufferevent_write(tcp_, prefix, sizeof prefix);
  bufferevent_write(tcp_, query_.data(), query_.size());
  if (bufferevent_socket_connect(tcp_, reinterpret_cast<const sockaddr*>(&to.address),
                                 static_cast<int>(to.length)) != 0) {
    fail(Status::LocalError);
    return;
  }
  ++transport_.stats->tcp_sent;
  arm(tryBudget());
}

void Exchange::onUdpReadable() {
  std::vector<uint8_t>& buffer = transport_.scratch;
  for (int i = 0; i < kMaxDatagramsPerWakeup; ++i) {
    sockaddr_storage from{};
    socklen_t from_length = sizeof from;
    ssize_t got = recvfrom(udp_fd_, buffer.data(), buffer.size(), 0,
                           reinterpret_cast<sockaddr*>(&from), &from_length);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      failure_ = Status::Timeout;  // ECONNREFUSED (ICMP port unreachable) and kin: no answer
      advance();
      return;
    }
    if (!server().matches(from, from_length)) {
      ++transport_.stats->dropped_answers;
      continue;
    }
    Parsed parsed = parseAnswer(
        std::span<const uint8_t>(buffer.data(), static_cast<std::size_t>(got)), question_);
    if (parsed.disposition == Disposition::Drop) {
      ++transport_.stats->dropped_answers;
      continue;
    }
    if (parsed.disposition == Disposition::Truncated) {
      ++transport_.stats->truncated;
      beginTcp();
    } else {
      onAnswer(std::move(parsed.result));
    }
    return;
  }
}

void Exchange::onTcpReadable() {
  evbuffer* input = bufferevent_get_input(tcp_);
  std::size_t have = evbuffer_get_length(input);
  uint8_t prefix[2] = {};
  if (have < sizeof prefix) return;
  evbuffer_copyout(input, prefix, sizeof prefix);
  auto length = static_cast<std::size_t>((prefix[0] << 8) | prefix[1]);
  if (have < sizeof prefix + length) return;
  evbuffer_drain(input, sizeof prefix);
  const unsigned char* data = evbuffer_pullup(input, static_cast<ev_ssize_t>(length));
  Parsed parsed;
  if (data != nullptr && length > 0) {
    parsed = parseAnswer(std::span<const uint8_t>(data, length), question_);
  }
  if (parsed.disposition == Disposition::Answer) {
    onAnswer(std::move(parsed.result));
    return;
  }
  ++transport_.stats->dropped_answers;  // over TCP from the server itself: give up this try
  failure_ = Status::Timeout;
  advance();
}

void Exchange::onTimer() {
  if (!report_now_) {
    ++transport_.stats->try_timeouts;
    failure_ = Status::Timeout;
  }
  report_now_ = false;
  advance();
}

void Exchange::onAnswer(Result result) {
  bool server_trouble = result.status == Status::ServFail || result.status == Status::Refused;
  if (server_trouble && transport_.servers.size() > 1 && attempt_ + 1 < transport_.attempts) {
    failure_ = result.status;
    advance();
    return;
  }
  finish(std::move(result));
}

void Exchange::advance() {
  closeSockets();
  if (++attempt_ >= transport_.attempts || Clock::now() >= deadline_) {
    Result result;
    result.status = failure_;
    finish(std::move(result));
    return;
  }
  beginTry();
}

void Exchange::fail(Status status) {
  closeSockets();
  failure_ = status;
  report_now_ = true;
  arm(milliseconds(0));
}

void Exchange::finish(Result result) {
  closeSockets();
  event_del(timer_);
  if (result.status == Status::Timeout) ++transport_.stats->timeouts;
  Done done = std::move(done_);
  done(std::move(result));  // may destroy this: the last statement
}

void Exchange::arm(milliseconds delay) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(delay.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((delay.count() % 1000) * 1000);
  evtimer_add(timer_, &tv);
}

milliseconds Exchange::tryBudget() const {
  auto left = std::chrono::ceil<milliseconds>(deadline_ - Clock::now());
  return std::max(milliseconds(1), std::min(left, transport_.timeout));
}

void Exchange::closeSockets() {
  if (udp_event_ != nullptr) {
    event_free(udp_event_);
    udp_event_ = nullptr;
  }
  if (udp_fd_ >= 0) {
    close(udp_fd_);
    udp_fd_ = -1;
  }
  if (tcp_ != nullptr) {
    bufferevent_free(tcp_);
    tcp_ = nullptr;
  }
}

}  // namespace spamgate::dns
