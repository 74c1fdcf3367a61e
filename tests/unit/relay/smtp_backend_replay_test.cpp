// The SMTP backend: replay on a fresh connection, timeouts, cancellation, protocol errors, TLS.
#include <event2/event.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "capture.h"
#include "relay/smtp_backend.h"
#include "test_servers.h"

namespace spamgate::relay {
namespace {

using std::chrono::milliseconds;
using test::Peer;
using test::ScriptServer;

using test::capture;
using test::kClient;
using test::Result;
const std::string kMessage = "Subject: test\r\n\r\nhello\r\n";
const char* kCaps = "250-mx.test\r\n250-PIPELINING\r\n250 SIZE 1000000\r\n";

bool greet(Peer& peer, const std::string& caps = kCaps) {
  peer.send("220 mx.test ESMTP\r\n");
  if (!peer.expect("EHLO relay.test")) return false;
  peer.send(caps);
  return true;
}

// Waits for the client to close (or 5 s).
void drain(Peer& peer) {
  std::string line;
  while (peer.readLine(line)) {
  }
}

class RelaySmtpBackendFailure : public ::testing::Test {
 protected:
  void SetUp() override { base_ = event_base_new(); }
  void TearDown() override {
    relay_.reset();
    event_base_free(base_);
  }
  std::unique_ptr<Transaction> begin(uint16_t port,
                                     const std::function<void(config::Backend&)>& tweak = {}) {
    auto config = std::make_shared<config::Config>();
    config->backend.address = config::Endpoint{"127.0.0.1", port};
    config->backend.helo_name = "relay.test";
    config->backend.command_timeout = config::Seconds{5};
    if (tweak) tweak(config->backend);
    relay_ = makeSmtpRelay(base_, config);
    return relay_->begin(kClient);
  }
  bool wait(const Result& r) {
    return test::runUntil(base_, [&r] { return r.calls > 0; });
  }
  // MAIL a@x, RCPT b@y (accepted), RCPT bad@y (rejected) on connection 0.
  void envelope(Transaction& txn) {
    Result mail, good, bad;
    txn.mail("a@x", "", capture(mail));
    txn.rcpt("b@y", "", capture(good));
    txn.rcpt("bad@y", "", capture(bad));
    ASSERT_TRUE(wait(bad));
    ASSERT_EQ(good.outcome.reply.code, 250);
    ASSERT_EQ(bad.outcome.reply.code, 550);
  }
  static void answerEnvelope(Peer& peer) {
    peer.expect("MAIL FROM:<a@x>");
    peer.expect("RCPT TO:<b@y>");
    peer.expect("RCPT TO:<bad@y>");
    peer.send("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 no such user\r\n");
  }

  // Ends the test's transaction and relay (closing lingering connections) and waits for the
  // server's scripts to run out.
  void finish(std::unique_ptr<Transaction>& txn, ScriptServer& server) {
    txn.reset();
    relay_.reset();
    EXPECT_TRUE(
        test::runUntil(base_, [&] { return server.scriptsFinished(server.connections()); }));
  }

  event_base* base_ = nullptr;
  std::unique_ptr<Relay> relay_;
};

TEST_F(RelaySmtpBackendFailure, ReplaysTheEnvelopeWhenTheBackendClosed) {
  std::string received;
  ScriptServer server([&received](Peer& peer, int connection) {
    if (!greet(peer)) return;
    if (connection == 0) {
      answerEnvelope(peer);
      peer.send("421 4.4.2 mx.test Error: timeout exceeded\r\n");
      return;  // closes
    }
    peer.expect("MAIL FROM:<a@x> SIZE=" + std::to_string(kMessage.size()));
    peer.expect("RCPT TO:<b@y>");  // only the accepted recipient
    peer.send("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
    peer.expect("DATA");
    peer.send("354 go\r\n");
    peer.readData(received);
    peer.send("250 2.0.0 Ok: queued as R1\r\n");
    drain(peer);
  });
  auto txn = begin(server.port());
  envelope(*txn);
  ASSERT_TRUE(test::runUntil(base_, [&] { return server.scriptsFinished(1); }));
  test::runFor(base_, milliseconds(100));  // the relay sees the 421 and the close
  Result data;
  txn->deliver(kMessage, capture(data));
  ASSERT_TRUE(wait(data));
  EXPECT_EQ(data.outcome.reply.summary(), "250 2.0.0 Ok");
  EXPECT_EQ(data.outcome.queue_id, "R1");
  EXPECT_EQ(received, kMessage);
  EXPECT_EQ(server.connections(), 2);
  finish(txn, server);
}

TEST_F(RelaySmtpBackendFailure, ReplayedRecipientRejectedFailsTheDelivery) {
  ScriptServer server([](Peer& peer, int connection) {
    if (!greet(peer)) return;
    if (connection == 0) {
      answerEnvelope(peer);
      return;
    }
    peer.expect("MAIL FROM:<a@x>");
    peer.expect("RCPT TO:<b@y>");
    peer.send("250 2.1.0 Ok\r\n550 5.1.1 gone now\r\n");
    drain(peer);  // no DATA may come
  });
  auto txn = begin(server.port());
  envelope(*txn);
  ASSERT_TRUE(test::runUntil(base_, [&] { return server.scriptsFinished(1); }));
  test::runFor(base_, milliseconds(100));
  Result data;
  txn->deliver(kMessage, capture(data));
  ASSERT_TRUE(wait(data));
  EXPECT_EQ(data.outcome.reply.code, 451);
  EXPECT_EQ(data.outcome.reply.enhanced, "4.4.1");
  EXPECT_NE(data.outcome.detail.find("550 5.1.1 gone now"), std::string::npos);
  finish(txn, server);
  EXPECT_EQ(server.connections(), 2);
  for (const auto& line : server.lines())
    EXPECT_NE(line, "DATA");
}

TEST_F(RelaySmtpBackendFailure, RetriesOnceWhenTheConnectionDiesUnderDeliver) {
  ScriptServer server([](Peer& peer, int connection) {
    if (!greet(peer)) return;
    if (connection == 0) {
      answerEnvelope(peer);
      peer.expect("DATA");
      return;  // close without answering
    }
    peer.expect("MAIL FROM:<a@x>");
    peer.expect("RCPT TO:<b@y>");
    peer.send("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
    peer.expect("DATA");
    peer.send("354 go\r\n");
    std::string data;
    peer.readData(data);
    peer.send("250 2.0.0 Ok: queued as R2\r\n");
    drain(peer);
  });
  auto txn = begin(server.port());
  envelope(*txn);
  Result data;
  txn->deliver(kMessage, capture(data));
  ASSERT_TRUE(wait(data));
  EXPECT_EQ(data.outcome.queue_id, "R2");
  EXPECT_EQ(server.connections(), 2);
  finish(txn, server);
}

TEST_F(RelaySmtpBackendFailure, SilentBackendTimesOutDuringSetup) {
  ScriptServer server([](Peer& peer, int) { drain(peer); });
  auto txn =
      begin(server.port(), [](config::Backend& b) { b.command_timeout = config::Seconds{1}; });
  Result mail;
  auto start = std::chrono::steady_clock::now();
  txn->mail("a@x", "", capture(mail));
  ASSERT_TRUE(wait(mail));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(900));
  EXPECT_EQ(mail.outcome.reply.code, 421);
  EXPECT_EQ(mail.outcome.reply.enhanced, "4.4.1");
  EXPECT_NE(mail.outcome.detail.find("timeout"), std::string::npos) << mail.outcome.detail;
  finish(txn, server);
}

TEST_F(RelaySmtpBackendFailure, UnansweredCommandTimesOut) {
  ScriptServer server([](Peer& peer, int) {
    if (greet(peer)) drain(peer);
  });
  auto txn =
      begin(server.port(), [](config::Backend& b) { b.command_timeout = config::Seconds{1}; });
  Result mail;
  txn->mail("a@x", "", capture(mail));
  ASSERT_TRUE(wait(mail));
  EXPECT_EQ(mail.outcome.reply.summary(),
            "451 4.4.1 Error: backend connection lost, try again later");
  EXPECT_FALSE(mail.outcome.reply.closes);
  finish(txn, server);
}

TEST_F(RelaySmtpBackendFailure, UnansweredEndOfDataTimesOut) {
  ScriptServer server([](Peer& peer, int) {
    if (!greet(peer)) return;
    answerEnvelope(peer);
    peer.expect("DATA");
    peer.send("354 go\r\n");
    drain(peer);
  });
  auto txn = begin(server.port(), [](config::Backend& b) { b.data_timeout = config::Seconds{1}; });
  envelope(*txn);
  Result data;
  txn->deliver(kMessage, capture(data));
  ASSERT_TRUE(wait(data));
  EXPECT_EQ(data.outcome.reply.code, 451);
  EXPECT_NE(data.outcome.detail.find("end-of-data"), std::string::npos) << data.outcome.detail;
  EXPECT_EQ(server.connections(), 1);  // the message went out: no retry
  finish(txn, server);
}

TEST_F(RelaySmtpBackendFailure, DestroyedMidTransactionSendsRsetQuitAndNoCallback) {
  ScriptServer server([](Peer& peer, int) {
    if (!greet(peer, "250 mx.test\r\n")) return;  // no pipelining
    peer.expect("MAIL FROM:<a@x>");
    peer.send("250 2.1.0 Ok\r\n");
    peer.expect("RCPT TO:<b@y>");
    usleep(200000);  // the client goes away meanwhile
    peer.send("250 2.1.5 Ok\r\n");
    if (peer.expect("RSET")) peer.send("250 2.0.0 Ok\r\n");
    if (peer.expect("QUIT")) peer.send("221 2.0.0 Bye\r\n");
    drain(peer);
  });
  auto txn = begin(server.port());
  Result mail, rcpt;
  txn->mail("a@x", "", capture(mail));
  txn->rcpt("b@y", "", capture(rcpt));
  ASSERT_TRUE(wait(mail));
  txn.reset();
  ASSERT_TRUE(test::runUntil(base_, [&] { return server.scriptsFinished(1); }));
  EXPECT_EQ(rcpt.calls, 0);
  auto lines = server.lines();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[3], "RSET");
  EXPECT_EQ(lines[4], "QUIT");
}

TEST_F(RelaySmtpBackendFailure, DestroyedBeforeConnectingJustCloses) {
  ScriptServer server([](Peer& peer, int) { drain(peer); });
  auto txn = begin(server.port());
  Result mail;
  txn->mail("a@x", "", capture(mail));
  txn.reset();
  test::runFor(base_, milliseconds(200));
  EXPECT_EQ(mail.calls, 0);
  finish(txn, server);
}

TEST_F(RelaySmtpBackendFailure, DestroyedWhileWaitingFor354NeverSendsTheMessage) {
  ScriptServer server([](Peer& peer, int) {
    if (!greet(peer)) return;
    answerEnvelope(peer);
    peer.expect("DATA");
    usleep(200000);
    peer.send("354 go\r\n");
    drain(peer);  // the client must close instead of sending the message
  });
  auto txn = begin(server.port());
  envelope(*txn);
  Result data;
  txn->deliver(kMessage, capture(data));
  test::runFor(base_, milliseconds(50));
  txn.reset();
  ASSERT_TRUE(test::runUntil(base_, [&] { return server.scriptsFinished(1); }));
  EXPECT_EQ(data.calls, 0);
  for (const auto& line : server.lines())
    EXPECT_NE(line, "Subject: test");
}

TEST_F(RelaySmtpBackendFailure, ProtocolErrorsBecome451) {
  for (std::string answer : {"hello world\r\n", "354 what?\r\n", "421 4.3.2 shutting down\r\n"}) {
    ScriptServer server([answer](Peer& peer, int) {
      if (!greet(peer)) return;
      peer.expect("MAIL");
      peer.send(answer);
      drain(peer);
    });
    auto txn = begin(server.port());
    Result mail;
    txn->mail("a@x", "", capture(mail));
    ASSERT_TRUE(wait(mail));
    EXPECT_EQ(mail.outcome.reply.code, 451) << answer;
    EXPECT_EQ(mail.outcome.reply.enhanced, answer[0] == '4' ? "4.4.1" : "4.3.0") << answer;
    EXPECT_FALSE(mail.outcome.detail.empty());
    finish(txn, server);
  }
}

TEST_F(RelaySmtpBackendFailure, TlsRequiredButNotOffered) {
  ScriptServer server([](Peer& peer, int) {
    if (greet(peer)) drain(peer);
  });
  auto txn = begin(server.port(), [](config::Backend& b) { b.tls = config::BackendTls::Required; });
  Result mail;
  txn->mail("a@x", "", capture(mail));
  ASSERT_TRUE(wait(mail));
  EXPECT_EQ(mail.outcome.reply.code, 421);
  EXPECT_NE(mail.outcome.detail.find("STARTTLS"), std::string::npos);
  finish(txn, server);
}

TEST_F(RelaySmtpBackendFailure, DeliversOverStartTls) {
  SSL_CTX* tls = test::makeTestServerTlsContext();
  std::string received;
  bool encrypted = false;
  {
    ScriptServer server(
        [&](Peer& peer, int) {
          if (!greet(peer, "250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")) return;
          if (!peer.expect("STARTTLS")) return;
          peer.send("220 2.0.0 Ready to start TLS\r\n");
          encrypted = peer.startTls();
          if (!encrypted || !peer.expect("EHLO relay.test")) return;  // no new greeting
          peer.send(kCaps);
          peer.expect("MAIL FROM:<a@x>");
          peer.expect("RCPT TO:<b@y>");
          peer.send("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
          peer.expect("DATA");
          peer.send("354 go\r\n");
          peer.readData(received);
          peer.send("250 2.0.0 Ok: queued as T1\r\n");
          drain(peer);
        },
        tls);
    auto txn =
        begin(server.port(), [](config::Backend& b) { b.tls = config::BackendTls::Required; });
    Result mail, rcpt, data;
    txn->mail("a@x", "", capture(mail));
    txn->rcpt("b@y", "", capture(rcpt));
    ASSERT_TRUE(wait(rcpt));
    EXPECT_EQ(rcpt.outcome.reply.code, 250) << rcpt.outcome.detail;
    txn->deliver(kMessage, capture(data));
    ASSERT_TRUE(wait(data));
    EXPECT_EQ(data.outcome.queue_id, "T1") << data.outcome.detail;
    finish(txn, server);
  }
  SSL_CTX_free(tls);
  EXPECT_TRUE(encrypted);
  EXPECT_EQ(received, kMessage);
}

}  // namespace
}  // namespace spamgate::relay
