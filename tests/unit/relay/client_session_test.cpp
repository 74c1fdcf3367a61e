#include "relay/client_session.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace spamgate::relay {
namespace {

using config::BackendTls;
using config::ForwardClient;

const char* kEhloPipelining =
    "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n";
const char* kEhloPlain = "250-mx.example\r\n250 8BITMIME\r\n";

std::string describe(const Event& e) {
  static const char* kCommands[] = {"MAIL", "RCPT", "DATA", "RSET", "QUIT"};
  switch (e.type) {
    case Event::Type::Ready:
      return "ready";
    case Event::Type::StartTls:
      return "starttls";
    case Event::Type::Failed:
      return "failed";
    case Event::Type::Closed:
      return "closed";
    case Event::Type::Reply:
      break;
  }
  return std::string(kCommands[static_cast<int>(e.command)]) + " " + std::to_string(e.reply.code) +
         (e.unexpected ? "!" : "");
}

// Drives a ClientSession like the connection does, feeding server bytes whole or bytewise.
class Harness {
 public:
  Harness(SessionOptions options, bool bytewise)
      : session(std::move(options)), bytewise_(bytewise) {}

  // Returns the events as "ready", "MAIL 250", "RCPT 550!", "failed", ...
  std::string server(std::string_view bytes) {
    std::string out;
    auto add = [&](const std::vector<Event>& events) {
      for (const Event& e : events) {
        if (!out.empty()) out += ", ";
        out += describe(e);
        last_.push_back(e);
      }
    };
    last_.clear();
    if (!bytewise_) {
      add(session.receive(bytes));
    } else {
      for (std::size_t i = 0; i < bytes.size(); ++i)
        add(session.receive(bytes.substr(i, 1)));
    }
    return out;
  }
  std::string sent() { return session.takeOutput(); }
  const std::vector<Event>& last() const { return last_; }

  ClientSession session;

 private:
  bool bytewise_;
  std::vector<Event> last_;
};

SessionOptions options(BackendTls tls = BackendTls::None,
                       ForwardClient forward = ForwardClient::None) {
  return SessionOptions{"relay.test", tls, forward,
                        ClientInfo{"192.0.2.7", 40000, "client.example", "c.example", true}};
}

auto message(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

class RelayClientSession : public ::testing::TestWithParam<bool> {
 protected:
  Harness make(SessionOptions o = options()) { return Harness(std::move(o), GetParam()); }
};

TEST_P(RelayClientSession, PipelinedTransaction) {
  auto h = make();
  h.session.mail("a@example.org", "BODY=8BITMIME", 42);  // queued before the session is ready
  h.session.rcpt("b@example.net", "");
  h.session.rcpt("c@example.net", "");
  EXPECT_EQ(h.sent(), "");
  EXPECT_EQ(h.session.waiting(), ClientSession::Wait::Command);
  EXPECT_EQ(h.server("220 mx.example ESMTP\r\n"), "");
  EXPECT_EQ(h.sent(), "EHLO relay.test\r\n");
  EXPECT_EQ(h.server(kEhloPipelining), "ready");
  EXPECT_EQ(h.sent(),
            "MAIL FROM:<a@example.org> SIZE=42 BODY=8BITMIME\r\n"
            "RCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\n");
  h.session.data(message("Subject: hi\r\n\r\n.dot\r\n"));
  EXPECT_EQ(h.sent(), "DATA\r\n");  // DATA joins the group
  EXPECT_EQ(h.server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 No such user\r\n354 go\r\n"),
            "MAIL 250, RCPT 250, RCPT 550");
  EXPECT_EQ(h.last()[2].reply.enhanced, "5.1.1");
  EXPECT_EQ(h.sent(), "Subject: hi\r\n\r\n..dot\r\n.\r\n");
  EXPECT_EQ(h.session.waiting(), ClientSession::Wait::Data);
  h.session.quit();
  EXPECT_EQ(h.sent(), "");  // the end of data ends the group
  EXPECT_EQ(h.server("250 2.0.0 Ok: queued as 4ABC\r\n"), "DATA 250");
  EXPECT_EQ(h.sent(), "QUIT\r\n");
  EXPECT_EQ(h.server("221 2.0.0 Bye\r\n"), "closed");
  EXPECT_TRUE(h.session.finished());
}

TEST_P(RelayClientSession, OneCommandAtATimeWithoutPipelining) {
  auto h = make();
  h.server("220 mx\r\n");
  h.sent();
  EXPECT_EQ(h.server(kEhloPlain), "ready");
  h.session.mail("a@x", "", 42);
  h.session.rcpt("b@y", "");
  h.session.data(message("x\r\n"));
  EXPECT_EQ(h.sent(), "MAIL FROM:<a@x>\r\n");  // no SIZE: not offered
  EXPECT_EQ(h.server("250 2.1.0 Ok\r\n"), "MAIL 250");
  EXPECT_EQ(h.sent(), "RCPT TO:<b@y>\r\n");
  EXPECT_EQ(h.server("250 2.1.5 Ok\r\n"), "RCPT 250");
  EXPECT_EQ(h.sent(), "DATA\r\n");
  EXPECT_EQ(h.server("354 go\r\n"), "");
  EXPECT_EQ(h.sent(), "x\r\n.\r\n");
  EXPECT_EQ(h.server("250 ok\r\n"), "DATA 250");
  EXPECT_EQ(h.session.waiting(), ClientSession::Wait::None);
}

TEST_P(RelayClientSession, DotStuffingAndFinalCrlf) {
  auto h = make();
  h.server("220 mx\r\n");
  h.server(kEhloPlain);
  h.sent();
  h.session.mail("", "", std::nullopt);
  h.server("250 ok\r\n");
  h.session.rcpt("b@y", "");
  h.server("250 ok\r\n");
  h.session.data(message(".\r\n..\r\nline . \r\n.end"));
  h.sent();
  h.server("354 go\r\n");
  EXPECT_EQ(h.sent(), "..\r\n...\r\nline . \r\n..end\r\n.\r\n");
}

TEST_P(RelayClientSession, RejectedDataPassesThrough) {
  auto h = make();
  h.server("220 mx\r\n");
  h.server(kEhloPipelining);
  h.session.mail("a@x", "", std::nullopt);
  h.session.rcpt("b@y", "");
  h.session.data(message("x\r\n"));
  h.sent();
  EXPECT_EQ(h.server("250 ok\r\n250 ok\r\n451 4.3.0 try later\r\n"),
            "MAIL 250, RCPT 250, DATA 451");
  EXPECT_EQ(h.sent(), "");  // the message is not sent
}

TEST_P(RelayClientSession, NoAcceptedRecipientGets354LoneDot) {
  auto h = make();
  h.server("220 mx\r\n");
  h.server(kEhloPipelining);
  h.session.mail("a@x", "", std::nullopt);
  h.session.rcpt("b@y", "");
  h.session.data(message("secret\r\n"));
  h.sent();
  EXPECT_EQ(h.server("250 ok\r\n550 5.1.1 no\r\n354 go\r\n"), "MAIL 250, RCPT 550");
  EXPECT_EQ(h.sent(), ".\r\n");
  EXPECT_EQ(h.server("250 2.0.0 Ok\r\n"), "DATA 554");
  EXPECT_EQ(h.last()[0].reply.enhanced, "5.5.1");
}

TEST_P(RelayClientSession, StartTlsRequiredButNotOffered) {
  auto h = make(options(BackendTls::Required));
  h.session.mail("a@x", "", std::nullopt);
  h.server("220 mx\r\n");
  EXPECT_EQ(h.server(kEhloPipelining), "failed");
  EXPECT_NE(h.last()[0].detail.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(h.sent(), "");  // nothing but the EHLO went out
  EXPECT_FALSE(h.session.wasReady());
}

TEST_P(RelayClientSession, StartTlsOpportunisticNotOffered) {
  auto h = make(options(BackendTls::Opportunistic));
  h.server("220 mx\r\n");
  EXPECT_EQ(h.server(kEhloPlain), "ready");
  EXPECT_FALSE(h.session.tlsActive());
}

TEST_P(RelayClientSession, StartTlsThenEhloAgain) {
  auto h = make(options(BackendTls::Required));
  h.session.mail("a@x", "", std::nullopt);
  h.server("220 mx\r\n");
  EXPECT_EQ(h.sent(), "EHLO relay.test\r\n");
  EXPECT_EQ(h.server("250-mx\r\n250-STARTTLS\r\n250 PIPELINING\r\n"), "");
  EXPECT_EQ(h.sent(), "STARTTLS\r\n");
  EXPECT_EQ(h.server("220 2.0.0 Ready to start TLS\r\n"), "starttls");
  EXPECT_EQ(h.sent(), "");
  h.session.tlsEstablished();
  EXPECT_EQ(h.sent(), "EHLO relay.test\r\n");
  EXPECT_EQ(h.server("250-mx\r\n250 SIZE 100\r\n"), "ready");  // the new list replaces the old
  EXPECT_TRUE(h.session.tlsActive());
  EXPECT_FALSE(h.session.capabilities().pipelining);
  EXPECT_EQ(h.sent(), "MAIL FROM:<a@x>\r\n");
}

TEST_P(RelayClientSession, StartTlsResponseInjectionFails) {
  auto h = make(options(BackendTls::Opportunistic));
  h.server("220 mx\r\n");
  h.server("250-mx\r\n250 STARTTLS\r\n");
  h.sent();
  // In one read: with TLS pending, the extra reply must not be taken as a TLS-protected one.
  std::string events = h.server("220 go ahead\r\n250 injected\r\n");
  if (GetParam()) {
    EXPECT_EQ(events, "starttls, failed");  // bytewise: the owner already saw starttls
  } else {
    EXPECT_EQ(events, "failed");
  }
}

TEST_P(RelayClientSession, StartTlsRefused) {
  auto opportunistic = make(options(BackendTls::Opportunistic));
  opportunistic.server("220 mx\r\n");
  opportunistic.server("250-mx\r\n250 STARTTLS\r\n");
  EXPECT_EQ(opportunistic.server("454 4.7.0 TLS not available\r\n"), "ready");
  auto required = make(options(BackendTls::Required));
  required.server("220 mx\r\n");
  required.server("250-mx\r\n250 STARTTLS\r\n");
  EXPECT_EQ(required.server("454 4.7.0 TLS not available\r\n"), "failed");
}

TEST_P(RelayClientSession, Xclient) {
  auto h = make(options(BackendTls::None, ForwardClient::Xclient));
  h.session.mail("a@x", "", std::nullopt);
  h.server("220 mx\r\n");
  h.sent();
  EXPECT_EQ(h.server("250-mx\r\n250-XCLIENT NAME ADDR PORT PROTO HELO LOGIN\r\n250 PIPELINING\r\n"),
            "");
  EXPECT_EQ(h.sent(),
            "XCLIENT NAME=c.example ADDR=192.0.2.7 PORT=40000 HELO=client.example "
            "PROTO=ESMTP\r\n");
  EXPECT_EQ(h.server("220 mx ESMTP\r\n"), "");  // Postfix greets again
  EXPECT_EQ(h.sent(), "EHLO relay.test\r\n");
  EXPECT_EQ(h.server("250-mx\r\n250 PIPELINING\r\n"), "ready");
  EXPECT_EQ(h.sent(), "MAIL FROM:<a@x>\r\n");
}

TEST_P(RelayClientSession, XclientNotAdvertisedOrRefused) {
  auto absent = make(options(BackendTls::None, ForwardClient::Xclient));
  absent.server("220 mx\r\n");
  EXPECT_EQ(absent.server(kEhloPipelining), "ready");
  auto refused = make(options(BackendTls::None, ForwardClient::Xclient));
  refused.server("220 mx\r\n");
  refused.server("250-mx\r\n250 XCLIENT ADDR\r\n");
  EXPECT_EQ(refused.sent(), "EHLO relay.test\r\nXCLIENT ADDR=192.0.2.7\r\n");
  EXPECT_EQ(refused.server("550 5.7.0 not authorized\r\n"), "failed");
}

TEST_P(RelayClientSession, XforwardBeforeEveryMail) {
  auto h = make(options(BackendTls::None, ForwardClient::Xforward));
  h.server("220 mx\r\n");
  h.server("250-mx\r\n250-PIPELINING\r\n250 XFORWARD NAME ADDR PROTO HELO\r\n");
  h.sent();
  h.session.mail("a@x", "", std::nullopt);
  h.session.rcpt("b@y", "");
  EXPECT_EQ(h.sent(),
            "XFORWARD NAME=c.example ADDR=192.0.2.7\r\n"
            "XFORWARD PROTO=ESMTP HELO=client.example\r\n"
            "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n");
  EXPECT_EQ(h.server("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n"), "MAIL 250, RCPT 250");
  h.session.rset();
  h.session.mail("c@x", "", std::nullopt);
  EXPECT_EQ(h.sent(),
            "RSET\r\nXFORWARD NAME=c.example ADDR=192.0.2.7\r\n"
            "XFORWARD PROTO=ESMTP HELO=client.example\r\nMAIL FROM:<c@x>\r\n");
  EXPECT_EQ(h.server("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n"), "RSET 250, MAIL 250");
}

TEST_P(RelayClientSession, XforwardWithoutPipeliningAndRefused) {
  auto h = make(options(BackendTls::None, ForwardClient::Xforward));
  h.server("220 mx\r\n");
  h.server("250-mx\r\n250 XFORWARD ADDR\r\n");
  h.sent();
  h.session.mail("a@x", "", std::nullopt);
  EXPECT_EQ(h.sent(), "XFORWARD ADDR=192.0.2.7\r\n");
  EXPECT_EQ(h.server("550 5.7.0 no\r\n"), "");
  EXPECT_EQ(h.sent(), "MAIL FROM:<a@x>\r\n");
  EXPECT_EQ(h.server("250 ok\r\n"), "MAIL 550!");  // the XFORWARD failure, as unexpected
}

TEST_P(RelayClientSession, HeloFallback) {
  auto h = make();
  h.server("220 mx\r\n");
  h.sent();
  EXPECT_EQ(h.server("502 5.5.1 EHLO not implemented\r\n"), "");
  EXPECT_EQ(h.sent(), "HELO relay.test\r\n");
  EXPECT_EQ(h.server("250 mx\r\n"), "ready");
  EXPECT_FALSE(h.session.capabilities().esmtp);
}

TEST_P(RelayClientSession, BadGreetings) {
  for (const char* greeting :
       {"554 5.7.1 go away\r\n", "421 4.3.2 busy\r\n", "250 hi\r\n", "hello\r\n"}) {
    auto h = make();
    EXPECT_EQ(h.server(greeting), "failed") << greeting;
    EXPECT_EQ(h.sent(), "");
    EXPECT_EQ(h.server("220 again\r\n"), "");  // nothing after failure
  }
}

TEST_P(RelayClientSession, BadRepliesAfterSetup) {
  auto unsolicited = make();
  unsolicited.server("220 mx\r\n");
  unsolicited.server(kEhloPlain);
  EXPECT_EQ(unsolicited.server("250 nobody asked\r\n"), "failed");
  EXPECT_TRUE(unsolicited.last()[0].unexpected);

  auto closing = make();
  closing.server("220 mx\r\n");
  closing.server(kEhloPlain);
  closing.session.mail("a@x", "", std::nullopt);
  EXPECT_EQ(closing.server("421 4.4.2 timeout\r\n"), "failed");
  EXPECT_FALSE(closing.last()[0].unexpected);
  EXPECT_EQ(closing.last()[0].reply.code, 421);

  auto weird = make();
  weird.server("220 mx\r\n");
  weird.server(kEhloPipelining);
  weird.session.mail("a@x", "", std::nullopt);
  weird.session.rcpt("b@y", "");
  EXPECT_EQ(weird.server("354 what\r\n250 ok\r\n"), "failed");  // the backend reads data now
  EXPECT_TRUE(weird.last()[0].unexpected);

  auto data250 = make();
  data250.server("220 mx\r\n");
  data250.server(kEhloPipelining);
  data250.session.mail("a@x", "", std::nullopt);
  data250.session.rcpt("b@y", "");
  data250.session.data(message("x\r\n"));
  EXPECT_EQ(data250.server("250 ok\r\n250 ok\r\n250 ok\r\n"), "MAIL 250, RCPT 250, failed");
  EXPECT_TRUE(data250.last()[2].unexpected);  // 250 to DATA: the state is unknown

  auto garbage = make();
  garbage.server("220 mx\r\n");
  garbage.server(kEhloPlain);
  garbage.session.mail("a@x", "", std::nullopt);
  EXPECT_EQ(garbage.server("250-ok\r\n251 mixed\r\n"), "failed");
}

TEST_P(RelayClientSession, AbandonSendsRsetQuit) {
  auto h = make();
  h.server("220 mx\r\n");
  h.server(kEhloPlain);
  h.session.mail("a@x", "", std::nullopt);
  h.sent();
  h.session.rcpt("b@y", "");  // queued behind MAIL, dropped by abandon()
  h.session.abandon();
  EXPECT_EQ(h.sent(), "");
  EXPECT_EQ(h.server("250 ok\r\n"), "MAIL 250");
  EXPECT_EQ(h.sent(), "RSET\r\n");
  EXPECT_EQ(h.server("250 ok\r\n"), "RSET 250");
  EXPECT_EQ(h.sent(), "QUIT\r\n");
  EXPECT_EQ(h.server("221 bye\r\n"), "closed");
}

TEST_P(RelayClientSession, AbandonDuringDataNeverSendsTheMessage) {
  auto h = make();
  h.server("220 mx\r\n");
  h.server(kEhloPipelining);
  h.session.mail("a@x", "", std::nullopt);
  h.session.rcpt("b@y", "");
  h.session.data(message("rejected content\r\n"));
  h.sent();
  h.session.abandon();
  EXPECT_EQ(h.server("250 ok\r\n250 ok\r\n354 go\r\n"), "MAIL 250, RCPT 250, failed");
  EXPECT_EQ(h.sent(), "");
  EXPECT_FALSE(h.session.messageSent());
}

INSTANTIATE_TEST_SUITE_P(WholeAndBytewise, RelayClientSession, ::testing::Bool());

}  // namespace
}  // namespace spamgate::relay
