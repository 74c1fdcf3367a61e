// ServerSession STARTTLS (RFC 3207): availability, command injection, state reset after the
// handshake. Whole and byte-wise.
#include <gtest/gtest.h>

#include <string>

#include "driver.h"

namespace spamgate::smtp::test {
namespace {

class TlsTest : public SessionTest {
 public:
  static SessionOptions withTls() {
    auto options = defaultOptions();
    options.tls_available = true;
    return options;
  }
};

TEST_P(TlsTest, NotAvailable) {
  auto& d = ready();
  d.send("STARTTLS\r\n");
  EXPECT_EQ(d.take(), Replies{"502 5.5.1 Error: command not implemented"});
  EXPECT_EQ(d.tlsStarts(), 0);
}

TEST_P(TlsTest, StartTlsTakesNoArgument) {
  auto& d = ready(withTls());
  d.send("STARTTLS now\r\n");
  EXPECT_EQ(d.take(), Replies{"501 5.5.4 Syntax error in parameters"});
  EXPECT_EQ(d.tlsStarts(), 0);
}

TEST_P(TlsTest, HandshakeAndReset) {
  auto& d = ready(withTls());
  d.send("STARTTLS\r\n");
  EXPECT_EQ(d.take(), Replies{"220 2.0.0 Ready to start TLS"});
  EXPECT_EQ(d.tlsStarts(), 1);
  EXPECT_FALSE(d.session().tlsActive());
  d.tlsEstablished();
  EXPECT_TRUE(d.session().tlsActive());
  EXPECT_TRUE(d.take().empty());  // no second greeting (RFC 3207 4.2)
  d.send("MAIL FROM:<a@example.com>\r\n");
  EXPECT_EQ(d.take(), Replies{"503 5.5.1 Error: send HELO/EHLO first"});
  const auto before = d.transcript().size();
  d.send("EHLO client.example\r\n");
  const auto ehlo = d.transcript().substr(before);
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  EXPECT_NE(ehlo.find("250 CHUNKING\r\n"), std::string::npos);
  d.take();
  d.send("STARTTLS\r\nMAIL FROM:<a@example.com>\r\n");
  EXPECT_EQ(d.take(), (Replies{"503 5.5.1 Error: TLS already active", "250 2.1.0 Ok"}));
}

TEST_P(TlsTest, InjectedCommandsAreDiscarded) {
  auto& d = ready(withTls());
  d.send("STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\nRCPT TO:<x@example.com>\r\n");
  EXPECT_EQ(d.take(), Replies{"220 2.0.0 Ready to start TLS"});
  EXPECT_EQ(d.session().bufferedInput(), 0u);
  d.send("NOOP\r\n");  // plaintext sent during the handshake: not a command either
  EXPECT_TRUE(d.take().empty());
  d.tlsEstablished();
  d.send("EHLO client.example\r\nRCPT TO:<x@example.com>\r\n");
  const auto replies = d.take();
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[1], "503 5.5.1 Error: need MAIL command");
  EXPECT_EQ(d.stageCount(Stage::Mail), 0u);
}

TEST_P(TlsTest, NotInsideATransaction) {
  auto& d = inTransaction(withTls());
  d.send("STARTTLS\r\n");
  EXPECT_EQ(d.take(), Replies{"503 5.5.1 Error: STARTTLS not allowed in a transaction"});
  EXPECT_EQ(d.tlsStarts(), 0);
  EXPECT_TRUE(d.session().transaction().active);
}

TEST_P(TlsTest, ImplicitTlsRefusesStartTls) {
  auto options = withTls();
  options.tls_active = true;
  auto& d = ready(options);
  d.send("STARTTLS\r\n");
  EXPECT_EQ(d.take(), Replies{"503 5.5.1 Error: TLS already active"});
}

TEST_P(TlsTest, TlsEstablishedOutsideAHandshakeIsIgnored) {
  auto& d = ready(withTls());
  d.tlsEstablished();
  EXPECT_FALSE(d.session().tlsActive());
  EXPECT_EQ(d.session().helo(), "client.example");
}

TEST_P(TlsTest, WordStartTlsInsideDataIsContent) {
  auto& d = inTransaction(withTls());
  d.send("DATA\r\n");
  d.send("content starttls content\r\nSTARTTLS\r\n.\r\n");
  EXPECT_EQ(d.take(), (Replies{"354 End data with <CR><LF>.<CR><LF>", "250 2.0.0 Ok"}));
  EXPECT_EQ(d.tlsStarts(), 0);
  EXPECT_EQ(d.deliveries()[0].message, "content starttls content\r\nSTARTTLS\r\n");
}

INSTANTIATE_TEST_SUITE_P(Feeds, TlsTest, ::testing::Values(Feed::Whole, Feed::Bytewise), feedName);

}  // namespace
}  // namespace spamgate::smtp::test
