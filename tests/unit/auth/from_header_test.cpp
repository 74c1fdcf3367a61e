// The header walk and the RFC 5322 From domain: real-world From forms, obsolete syntax,
// groups, and the malformed ones a spoofer writes.
#include "auth/from_header.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace spamgate::auth {
namespace {

using Domains = std::vector<std::string>;

std::optional<Domains> domains(std::string_view value) {
  return mailboxDomains(value);
}

TEST(HeaderFields, RangesCoverFoldedLinesAndStopAtTheEmptyLine) {
  const std::string message =
      "From: a@example.com\r\nSubject: one\r\n two\r\n\tthree\r\nX-A : b\r\n\r\nFrom: "
      "body@x.test\r\n";
  const std::vector<HeaderField> fields = headerFields(message);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].name, "From");
  EXPECT_EQ(fields[0].value, " a@example.com");
  EXPECT_EQ(message.substr(fields[1].begin, fields[1].end - fields[1].begin),
            "Subject: one\r\n two\r\n\tthree\r\n");
  EXPECT_EQ(fields[1].value, " one\r\n two\r\n\tthree");
  EXPECT_EQ(fields[2].name, "X-A");  // WSP before the colon (obsolete syntax)
  EXPECT_EQ(fields[2].end, message.find("\r\n\r\n") + 2);
}

TEST(HeaderFields, BareLfNoFinalEolAndAJunkLineEndsTheHeader) {
  const std::string message = " orphan continuation\nA: 1\nB: 2\n c";
  std::vector<HeaderField> fields = headerFields(message);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].name, "A");
  EXPECT_EQ(fields[1].value, " 2\n c");
  EXPECT_EQ(fields[1].end, message.size());
  // What follows a line that is not a field is body, as the backend reads it.
  fields = headerFields("A: 1\r\nnot a field\r\nFrom: x@example.com\r\n\r\n");
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(fields[0].name, "A");
}

TEST(MailboxDomains, CommonForms) {
  EXPECT_EQ(domains("user@Example.COM"), Domains{"example.com"});
  EXPECT_EQ(domains(" John Doe <john@Mail.Example.org>"), Domains{"mail.example.org"});
  EXPECT_EQ(domains("\"Doe, John\" <john@example.org>"), Domains{"example.org"});
  EXPECT_EQ(domains("\"quoted local\"@example.net"), Domains{"example.net"});
  EXPECT_EQ(domains("john@example.net (John Doe)"), Domains{"example.net"});
  EXPECT_EQ(domains("(c (nested) \\) ) Jo <jo@example.net> (trailing)"), Domains{"example.net"});
  EXPECT_EQ(domains("John Q. Public <jqp@example.net>"), Domains{"example.net"});
  EXPECT_EQ(domains("<@relay.test,@other.test:jo@example.net>"), Domains{"example.net"});
  EXPECT_EQ(domains("J\r\n <jo@example.net>"), Domains{"example.net"});
}

TEST(MailboxDomains, SeveralMailboxesAndGroups) {
  EXPECT_EQ(domains("a@one.test, B <b@two.test>"), (Domains{"one.test", "two.test"}));
  EXPECT_EQ(domains("Team: a@one.test, b@two.test;"), (Domains{"one.test", "two.test"}));
  EXPECT_EQ(domains("undisclosed-recipients:;"), Domains{});
  EXPECT_EQ(domains("a@one.test, , b@one.test"), (Domains{"one.test", "one.test"}));
}

TEST(MailboxDomains, IdnStaysAsWritten) {
  EXPECT_EQ(domains("user@Bücher.example"), Domains{"bücher.example"});
  EXPECT_EQ(domains("user@XN--bcher-kva.example"), Domains{"xn--bcher-kva.example"});
}

TEST(MailboxDomains, Malformed) {
  for (const char* value :
       {"John Doe", "john@", "@example.com", "<john@example.com", "john@example..com",
        "john@.example.com", "john@[192.0.2.1]", "\"unterminated@example.com",
        "(unterminated comment john@example.com", "john@paypal.com <x@evil.test>",
        "a@b.test c@d.test", "Group: a@b.test", "john@example.com\x01", "a@b.test;"}) {
    EXPECT_EQ(domains(value), std::nullopt) << value;
  }
  EXPECT_EQ(domains(""), Domains{});  // parses, but names no mailbox
  EXPECT_EQ(domains(" (just a comment) "), Domains{});
}

TEST(FromDomain, Statuses) {
  EXPECT_EQ(fromDomain("Subject: x\r\n\r\nFrom: a@b.test\r\n").status, FromStatus::Missing);

  const FromDomain two = fromDomain("From: a@b.test\r\nfrom: c@d.test\r\n\r\n");
  EXPECT_EQ(two.status, FromStatus::MultipleFields);
  EXPECT_EQ(two.fields, 2u);

  const FromDomain mixed = fromDomain("From: a@b.test, c@d.test\r\n\r\n");
  EXPECT_EQ(mixed.status, FromStatus::MultipleMailboxes);
  EXPECT_EQ(mixed.domain, "");
  EXPECT_EQ(mixed.domains, (Domains{"b.test", "d.test"}));

  const FromDomain same = fromDomain("From: a@B.test, c@b.TEST\r\n\r\n");
  EXPECT_EQ(same.status, FromStatus::MultipleMailboxes);
  EXPECT_EQ(same.domain, "b.test");

  EXPECT_EQ(fromDomain("From: nobody\r\n\r\n").status, FromStatus::Unparseable);
  EXPECT_EQ(fromDomain("From: undisclosed:;\r\n\r\n").status, FromStatus::Unparseable);

  const FromDomain ok =
      fromDomain("Received: x\r\nFROM:\r\n \"Ann\"\r\n <ann@Mail.Example.co.uk>\r\n\r\nbody");
  EXPECT_EQ(ok.status, FromStatus::Ok);
  EXPECT_EQ(ok.domain, "mail.example.co.uk");
  EXPECT_EQ(ok.fields, 1u);
}

}  // namespace
}  // namespace spamgate::auth
