// A test owner for ServerSession: feeds input whole or one byte at a time, executes every
// effect (replies into a transcript, stages answered from a per-stage script, StartTls and
// Close recorded) and checks the effect stream's own invariants as it goes: nothing after
// Close, RunStage only as the last effect of a batch and only while the machine waits.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "smtp/server_session.h"

namespace spamgate::smtp::test {

enum class Feed { Whole, Bytewise };

inline std::string feedName(const ::testing::TestParamInfo<Feed>& info) {
  return info.param == Feed::Whole ? "Whole" : "Bytewise";
}

// What the EndOfData stage saw: the envelope and the message the machine handed over.
struct Delivery {
  std::string sender;
  std::vector<std::string> recipients;
  std::string message;
};

inline SessionOptions defaultOptions() {
  SessionOptions options;
  options.hostname = "mx.example";
  return options;
}

class Driver {
 public:
  using Handler = std::function<StageResult(const ServerSession&)>;

  explicit Driver(SessionOptions options = defaultOptions(), Feed feed = Feed::Whole)
      : session_(std::move(options)), feed_(feed) {}

  void start() { execute(session_.start()); }

  void send(std::string_view bytes) {
    if (feed_ == Feed::Whole) return execute(session_.receive(bytes));
    for (std::size_t i = 0; i < bytes.size(); ++i)
      execute(session_.receive(bytes.substr(i, 1)));
  }

  // A stage is answered by its scripted results first (in order), then by its handler, then by
  // the default: proceed, or "250 2.0.0 Ok" at the end of data.
  void script(Stage stage, StageResult result) { scripts_[stage].push_back(std::move(result)); }
  void script(Stage stage, Reply reply) { script(stage, StageResult{std::move(reply)}); }
  void onStage(Stage stage, Handler handler) { handlers_[stage] = std::move(handler); }
  // A held stage is left pending; the test answers it with resume().
  void hold(Stage stage, bool on = true) {
    if (on) {
      held_.insert(stage);
    } else {
      held_.erase(stage);
    }
  }
  void resume(StageResult result = {}) {
    ASSERT_TRUE(session_.waiting()) << "resume() without a pending stage";
    execute(session_.resume(std::move(result)));
  }

  void tlsEstablished() { execute(session_.tlsEstablished()); }
  void timeout() { execute(session_.timeout()); }
  void shutdown() { execute(session_.shutdown()); }
  void abort(Reply reply) { execute(session_.abort(std::move(reply))); }

  // Reply summaries ("250 2.1.0 Ok") since the last take().
  std::vector<std::string> take() { return std::exchange(fresh_, {}); }
  // Every reply so far, in wire form.
  const std::string& transcript() const { return transcript_; }
  const std::vector<Stage>& stages() const { return stages_; }
  std::size_t stageCount(Stage stage) const {
    std::size_t n = 0;
    for (auto s : stages_)
      n += s == stage ? 1 : 0;
    return n;
  }
  const std::vector<Delivery>& deliveries() const { return deliveries_; }
  bool closed() const { return closed_; }
  int tlsStarts() const { return tls_starts_; }
  ServerSession& session() { return session_; }

 private:
  void execute(Effects effects) {
    std::optional<Stage> asked;
    for (std::size_t i = 0; i < effects.size(); ++i) {
      EXPECT_FALSE(closed_) << "effect after Close";
      if (auto* send = std::get_if<effect::Send>(&effects[i])) {
        transcript_ += send->reply.wire();
        fresh_.push_back(send->reply.summary());
      } else if (auto* run = std::get_if<effect::RunStage>(&effects[i])) {
        EXPECT_EQ(i + 1, effects.size()) << "RunStage must end a batch";
        asked = run->stage;
      } else if (std::holds_alternative<effect::StartTls>(effects[i])) {
        ++tls_starts_;
      } else {
        EXPECT_EQ(i + 1, effects.size()) << "Close must end a batch";
        closed_ = true;
      }
    }
    if (asked) runStage(*asked);
  }

  void runStage(Stage stage) {
    stages_.push_back(stage);
    EXPECT_TRUE(session_.waiting());
    if (stage == Stage::EndOfData) deliver();
    if (held_.contains(stage)) return;
    execute(session_.resume(answer(stage)));
  }

  void deliver() {
    Delivery delivery;
    const auto& transaction = session_.transaction();
    delivery.sender = transaction.mail.reverse_path;
    for (const auto& r : transaction.recipients) {
      if (r.accepted) delivery.recipients.push_back(r.address);
    }
    delivery.message = session_.takeMessage();
    deliveries_.push_back(std::move(delivery));
  }

  StageResult answer(Stage stage) {
    auto& script = scripts_[stage];
    if (!script.empty()) {
      auto result = std::move(script.front());
      script.pop_front();
      return result;
    }
    if (auto it = handlers_.find(stage); it != handlers_.end()) return it->second(session_);
    if (stage == Stage::EndOfData) return StageResult{makeReply(250, "2.0.0", "Ok")};
    return {};
  }

  ServerSession session_;
  Feed feed_;
  std::map<Stage, std::deque<StageResult>> scripts_;
  std::map<Stage, Handler> handlers_;
  std::set<Stage> held_;
  std::string transcript_;
  std::vector<std::string> fresh_;
  std::vector<Stage> stages_;
  std::vector<Delivery> deliveries_;
  bool closed_ = false;
  int tls_starts_ = 0;
};

// The parameterized fixture most session tests use: every test runs whole and byte-wise and
// must see the same replies either way.
class SessionTest : public ::testing::TestWithParam<Feed> {
 public:
  // A started session (greeting taken) with options `options`.
  Driver& open(SessionOptions options = defaultOptions()) {
    driver_.emplace(std::move(options), GetParam());
    driver_->start();
    EXPECT_EQ(driver_->take(), (std::vector<std::string>{"220 mx.example ESMTP spamgate"}));
    return *driver_;
  }
  // Started, and EHLO done.
  Driver& ready(SessionOptions options = defaultOptions()) {
    auto& d = open(std::move(options));
    d.send("EHLO client.example\r\n");
    EXPECT_EQ(d.take().size(), 1u);
    return d;
  }
  // EHLO, MAIL and one RCPT accepted.
  Driver& inTransaction(SessionOptions options = defaultOptions()) {
    auto& d = ready(std::move(options));
    d.send("MAIL FROM:<sender@example.org>\r\nRCPT TO:<rcpt@example.com>\r\n");
    EXPECT_EQ(d.take(), (std::vector<std::string>{"250 2.1.0 Ok", "250 2.1.5 Ok"}));
    return d;
  }

 protected:
  std::optional<Driver> driver_;
};

using Replies = std::vector<std::string>;

}  // namespace spamgate::smtp::test
