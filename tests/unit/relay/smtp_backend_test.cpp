// The SMTP backend against a real Postfix smtp-sink and scripted loopback servers.
#include <event2/event.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "capture.h"
#include "net/worker_pool.h"
#include "relay/relay.h"
#include "test_servers.h"

namespace spamgate::relay {
namespace {

using std::chrono::milliseconds;
using test::Peer;
using test::ScriptServer;

using test::capture;
using test::kClient;
using test::Result;
const std::string kMessage = "Subject: test\r\n\r\nhello\r\n.leading dot\r\n..two\r\nend\r\n";

// Greets and answers EHLO; returns false when the client did not say EHLO.
bool greet(Peer& peer, const std::string& caps = "250-mx.test\r\n250 PIPELINING\r\n") {
  peer.send("220 mx.test ESMTP\r\n");
  if (!peer.expect("EHLO relay.test")) return false;
  peer.send(caps);
  return true;
}

class RelaySmtpBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = event_base_new();
    inbox_ = std::make_unique<net::LoopInbox>(base_);
  }
  void TearDown() override {
    relay_.reset();
    inbox_.reset();
    event_base_free(base_);
  }

  std::unique_ptr<Transaction> begin(uint16_t port,
                                     const std::function<void(config::Backend&)>& tweak = {},
                                     const std::string& host = "127.0.0.1") {
    auto config = std::make_shared<config::Config>();
    config->backend.address = config::Endpoint{host, port};
    config->backend.helo_name = "relay.test";
    config->backend.command_timeout = config::Seconds{5};
    if (tweak) tweak(config->backend);
    relay_ = makeRelay(base_, config, *inbox_, pool_);  // not a Maildir: the SMTP backend
    return relay_->begin(kClient);
  }
  bool wait(const Result& r, milliseconds limit = milliseconds(10000)) {
    return test::runUntil(
        base_, [&r] { return r.calls > 0; }, limit);
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
  std::unique_ptr<net::LoopInbox> inbox_;
  net::WorkerPool pool_{1, 4};
  std::unique_ptr<Relay> relay_;
};

TEST_F(RelaySmtpBackend, DeliversThroughSmtpSink) {
  for (auto forward : {config::ForwardClient::None, config::ForwardClient::Xforward,
                       config::ForwardClient::Xclient}) {
    test::SmtpSink sink({});
    if (!sink.ok()) GTEST_SKIP() << "smtp-sink not available";
    auto txn = begin(sink.port(), [forward](config::Backend& b) { b.forward_client = forward; });
    Result mail, rcpt, data;
    txn->mail("sender@example.org", "BODY=8BITMIME", capture(mail));
    txn->rcpt("rcpt@example.net", "", capture(rcpt));
    ASSERT_TRUE(wait(rcpt));
    EXPECT_EQ(mail.outcome.reply.summary(), "250 2.1.0 Ok");
    EXPECT_EQ(mail.outcome.detail, "250 2.1.0 Ok");
    EXPECT_EQ(rcpt.outcome.reply.summary(), "250 2.1.5 Ok");
    txn->deliver(kMessage, capture(data));
    ASSERT_TRUE(wait(data));
    EXPECT_EQ(data.outcome.reply.code, 250);
    EXPECT_EQ(data.outcome.reply.enhanced, "2.0.0");
    EXPECT_EQ(data.outcome.detail, "250 2.0.0 Ok");
    txn.reset();
    std::string expected = "Subject: test\n\nhello\n.leading dot\n..two\nend\n";
    test::runUntil(base_, [&] { return sink.dumps().find(expected) != std::string::npos; });
    std::string dump = sink.dumps();
    EXPECT_NE(dump.find("X-Mail-Args: <sender@example.org> BODY=8BITMIME\n"), std::string::npos)
        << dump;
    EXPECT_NE(dump.find("X-Rcpt-Args: <rcpt@example.net>\n"), std::string::npos);
    EXPECT_NE(dump.find(expected), std::string::npos) << dump;
    EXPECT_EQ(mail.calls + rcpt.calls + data.calls, 3);
  }
}

TEST_F(RelaySmtpBackend, RejectedRecipientPassesThrough) {
  test::SmtpSink sink({"-f", "RCPT", "-B", "550 5.1.1 User unknown"});
  if (!sink.ok()) GTEST_SKIP() << "smtp-sink not available";
  auto txn = begin(sink.port());
  Result mail, rcpt, data;
  txn->mail("sender@example.org", "", capture(mail));
  txn->rcpt("nobody@example.net", "", capture(rcpt));
  ASSERT_TRUE(wait(rcpt));
  EXPECT_EQ(mail.outcome.reply.code, 250);
  EXPECT_EQ(rcpt.outcome.reply.summary(), "550 5.1.1 User unknown");
  EXPECT_EQ(rcpt.outcome.detail, "550 5.1.1 User unknown");
  txn->deliver(kMessage, capture(data));  // nobody accepted: refused at once
  EXPECT_EQ(data.calls, 1);
  EXPECT_EQ(data.outcome.reply.code, 554);
}

TEST_F(RelaySmtpBackend, MixedRecipientsAndQueueId) {
  std::string received;
  ScriptServer server([&received](Peer& peer, int) {
    if (!greet(peer, "250-mx.test\r\n250-PIPELINING\r\n250 SIZE 1000000\r\n")) return;
    peer.expect("MAIL FROM:<a@x> SIZE=1234 BODY=8BITMIME");
    peer.expect("RCPT TO:<b@y>");
    peer.expect("RCPT TO:<bad@y>");
    peer.send("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <bad@y>: Recipient address rejected\r\n");
    peer.expect("DATA");
    peer.send("354 End data with <CR><LF>.<CR><LF>\r\n");
    peer.readData(received);
    peer.send("250 2.0.0 Ok: queued as 3F2A1B\r\n");
    peer.expect("RSET");
    peer.send("250 2.0.0 Ok\r\n");
    peer.expect("QUIT");
    peer.send("221 2.0.0 Bye\r\n");
  });
  auto txn = begin(server.port());
  Result mail, good, bad, data;
  txn->mail("a@x", "SIZE=1234 BODY=8BITMIME", capture(mail));
  txn->rcpt("b@y", "", capture(good));
  txn->rcpt("bad@y", "", capture(bad));
  ASSERT_TRUE(wait(bad));
  EXPECT_EQ(good.outcome.reply.code, 250);
  EXPECT_EQ(bad.outcome.reply.summary(), "550 5.1.1 <bad@y>: Recipient address rejected");
  txn->deliver(kMessage, capture(data));
  ASSERT_TRUE(wait(data));
  EXPECT_EQ(data.outcome.reply.summary(), "250 2.0.0 Ok");
  EXPECT_EQ(data.outcome.queue_id, "3F2A1B");
  EXPECT_EQ(data.outcome.detail, "250 2.0.0 Ok: queued as 3F2A1B");
  txn.reset();
  ASSERT_TRUE(test::runUntil(base_, [&] { return server.scriptsFinished(1); }));
  EXPECT_EQ(received, "Subject: test\r\n\r\nhello\r\n..leading dot\r\n...two\r\nend\r\n");
  auto lines = server.lines();
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[5], "RSET");
  EXPECT_EQ(lines[6], "QUIT");
}

TEST_F(RelaySmtpBackend, BackendDownGives421) {
  for (std::string host : {"127.0.0.1", "::1"}) {
    auto txn = begin(test::freePort(), {}, host);
    Result mail, rcpt;
    txn->mail("a@x", "", capture(mail));
    txn->rcpt("b@y", "", capture(rcpt));
    EXPECT_EQ(mail.calls, 0);  // never inline
    ASSERT_TRUE(wait(rcpt));
    EXPECT_EQ(mail.outcome.reply.code, 421);
    EXPECT_EQ(mail.outcome.reply.enhanced, "4.4.1");
    EXPECT_TRUE(mail.outcome.reply.closes);
    EXPECT_NE(mail.outcome.detail.find("connect"), std::string::npos) << mail.outcome.detail;
    EXPECT_EQ(rcpt.outcome.reply.code, 421);
    EXPECT_EQ(mail.calls, 1);
    EXPECT_EQ(rcpt.calls, 1);
  }
}

TEST_F(RelaySmtpBackend, UnparsableAddressGives421) {
  auto txn = begin(25, {}, "localhost");  // names are not resolved: numeric addresses only
  Result mail;
  txn->mail("a@x", "", capture(mail));
  ASSERT_TRUE(wait(mail));
  EXPECT_EQ(mail.outcome.reply.code, 421);
  EXPECT_NE(mail.outcome.detail.find("not numeric"), std::string::npos) << mail.outcome.detail;
}

TEST_F(RelaySmtpBackend, RefusedSessionGives421) {
  ScriptServer server([](Peer& peer, int) {
    peer.send("554 5.3.2 not accepting mail\r\n");
    std::string line;
    peer.readLine(line);
  });
  auto txn = begin(server.port());
  Result mail;
  txn->mail("a@x", "", capture(mail));
  ASSERT_TRUE(wait(mail));
  EXPECT_EQ(mail.outcome.reply.summary(),
            "421 4.4.1 Error: backend not available, try again later");
  EXPECT_NE(mail.outcome.detail.find("554 5.3.2 not accepting mail"), std::string::npos);
  finish(txn, server);
}

TEST_F(RelaySmtpBackend, CallbackMayDestroyTheTransaction) {
  std::unique_ptr<Transaction> txn = begin(test::freePort());
  Result rcpt;
  int mail_calls = 0;
  txn->mail("a@x", "", [&](Outcome) {
    ++mail_calls;
    txn.reset();  // the rcpt callback must not run now
  });
  txn->rcpt("b@y", "", capture(rcpt));
  test::runUntil(base_, [&] { return mail_calls > 0; });
  test::runFor(base_, milliseconds(100));
  EXPECT_EQ(mail_calls, 1);
  EXPECT_EQ(rcpt.calls, 0);
}

}  // namespace
}  // namespace spamgate::relay
