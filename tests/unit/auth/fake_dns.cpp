#include "fake_dns.h"

#include <event2/event.h>

#include <algorithm>

#include "dns/names.h"

namespace spamgate::test {

namespace {

// Delivers one answer from a timer on the loop; destroying it cancels the delivery.
class FakeQuery final : public auth::PendingQuery {
 public:
  FakeQuery(event_base* base, dns::Result result, std::chrono::milliseconds delay,
            auth::DnsSource::Callback callback)
      : result_(std::move(result)),
        callback_(std::move(callback)),
        timer_(evtimer_new(base, &FakeQuery::onTimer, this)) {
    const timeval tv{static_cast<time_t>(delay.count() / 1000),
                     static_cast<suseconds_t>(delay.count() % 1000 * 1000)};
    evtimer_add(timer_, &tv);
  }
  ~FakeQuery() override { event_free(timer_); }
  FakeQuery(const FakeQuery&) = delete;
  FakeQuery& operator=(const FakeQuery&) = delete;

 private:
  static void onTimer(evutil_socket_t, short, void* self) {
    auto* query = static_cast<FakeQuery*>(self);
    auto callback = std::move(query->callback_);
    callback(std::move(query->result_));  // may destroy the query
  }

  dns::Result result_;
  auth::DnsSource::Callback callback_;
  event* timer_;
};

class Lent final : public auth::DnsSource {
 public:
  explicit Lent(auth::DnsSource& target) : target_(target) {}
  std::unique_ptr<auth::PendingQuery> query(std::string_view name, dns::Type type,
                                            Callback callback) override {
    return target_.query(name, type, std::move(callback));
  }

 private:
  auth::DnsSource& target_;
};

}  // namespace

std::unique_ptr<auth::DnsSource> FakeDns::lend() {
  return std::make_unique<Lent>(*this);
}

void FakeDns::add(const std::string& name, dns::Type type, std::string record) {
  records_[{dns::foldName(name), type}].push_back(std::move(record));
}

void FakeDns::fail(const std::string& name, dns::Type type, dns::Status status) {
  failures_[{dns::foldName(name), type}] = status;
}

dns::Result FakeDns::answer(const std::string& name, dns::Type type) const {
  dns::Result result;
  if (auto failure = failures_.find({name, type}); failure != failures_.end()) {
    result.status = failure->second;
    return result;
  }
  if (auto found = records_.find({name, type}); found != records_.end()) {
    result.status = dns::Status::Ok;
    result.records = found->second;
    result.ttl = 300;
    return result;
  }
  const bool exists = std::any_of(records_.begin(), records_.end(),
                                  [&](const auto& entry) { return entry.first.first == name; });
  result.status = exists ? dns::Status::NoData : dns::Status::NxDomain;
  return result;
}

std::unique_ptr<auth::PendingQuery> FakeDns::query(std::string_view name, dns::Type type,
                                                   Callback callback) {
  const std::string key = dns::foldName(name);
  queries_.push_back(key + " " + std::string(dns::typeName(type)));
  dns::Result result = answer(key, type);
  const auto delay =
      result.status == dns::Status::Timeout ? timeout_after : std::chrono::milliseconds(0);
  return std::make_unique<FakeQuery>(base_, std::move(result), delay, std::move(callback));
}

}  // namespace spamgate::test
