#include <gtest/gtest.h>

#include "mime/message.h"
#include "test_util.h"

namespace spamgate::mime {
namespace {

using test::crlf;

TEST(MimeHeaders, UnfoldsAndTrims) {
  const Message m = parseMessage(crlf(
      "Received: from a.example\n  by b.example;\n\tMon, 1 Jan 2024\nSubject:   hi  \n\nbody\n"));
  ASSERT_EQ(m.headers.size(), 2u);
  EXPECT_EQ(m.headers[0].name, "Received");
  EXPECT_EQ(m.headers[0].raw, "from a.example  by b.example;\tMon, 1 Jan 2024");
  EXPECT_EQ(m.headers[1].raw, "hi");
}

TEST(MimeHeaders, KeepsOrderAndDuplicates) {
  const Message m = parseMessage("To: a@x\nX-A: 1\nto: b@x\n\n");
  const auto values = headerValues(m, "TO");
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0], "a@x");
  EXPECT_EQ(values[1], "b@x");
  EXPECT_TRUE(headerValues(m, "Cc").empty());
}

TEST(MimeHeaders, Rfc2047BAndQInSeveralCharsets) {
  const Message m =
      parseMessage(crlf("Subject: =?UTF-8?B?w6l0w6k=?= =?ISO-8859-1?Q?caf=E9_cr=E8me?=\n"
                        "X-Koi: =?KOI8-R?B?8NLJ18XU?=\n"
                        "X-Cp: =?windows-1252?Q?=93quoted=94?=\n"
                        "X-Plain: no =?bogus words\n\n"));
  EXPECT_EQ(headerValues(m, "Subject").at(0),
            "\xC3\xA9t\xC3\xA9"
            "caf\xC3\xA9 cr\xC3\xA8me");
  EXPECT_EQ(headerValues(m, "X-Koi").at(0), "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
  EXPECT_EQ(headerValues(m, "X-Cp").at(0), "\xE2\x80\x9Cquoted\xE2\x80\x9D");
  EXPECT_EQ(headerValues(m, "X-Plain").at(0), "no =?bogus words");
  EXPECT_EQ(m.headers[0].raw, "=?UTF-8?B?w6l0w6k=?= =?ISO-8859-1?Q?caf=E9_cr=E8me?=");
}

TEST(MimeHeaders, EightBitAndNulGiveValidUtf8) {
  const std::string raw = std::string("Subject: caf\xE9 ") + '\0' + "x\nX-U: \xC3\xA9t\xC3\xA9\n\n";
  const Message m = parseMessage(raw);
  ASSERT_EQ(m.headers.size(), 2u);
  const std::string& subject = m.headers[0].decoded;
  EXPECT_EQ(subject.find('\0'), std::string::npos);
  EXPECT_TRUE(test::contains(subject, "caf"));
  EXPECT_EQ(m.headers[1].decoded, "\xC3\xA9t\xC3\xA9");
}

TEST(MimeHeaders, IgnoresBrokenLinesAndHeaderLimit) {
  const Message m = parseMessage("Subject: a\nthis is no field\nX-B: b\n\n");
  ASSERT_EQ(m.headers.size(), 2u);
  EXPECT_EQ(m.headers[1].name, "X-B");

  std::string big;
  for (int i = 0; i < 100; ++i)
    big += "X-Filler: " + std::string(90, 'x') + "\n";
  Limits limits;
  limits.max_header_bytes = 2000;
  const Message cut = parseMessage(big + "\nbody\n", limits);
  EXPECT_LT(cut.headers.size(), 100u);
  EXPECT_GT(cut.headers.size(), 10u);
  EXPECT_TRUE(cut.stats.truncated);
}

TEST(MimeMailboxes, NamesDecodedAddressesKept) {
  const auto list = mailboxes(
      "\"Doe, John\" <john@example.com>, =?UTF-8?Q?J=C3=BCrgen?= <jr@example.de>, "
      "plain@example.org, undisclosed-recipients:;");
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0].name, "Doe, John");
  EXPECT_EQ(list[0].address, "john@example.com");
  EXPECT_EQ(list[1].name, "J\xC3\xBCrgen");
  EXPECT_EQ(list[1].address, "jr@example.de");
  EXPECT_EQ(list[2].name, "");
  EXPECT_EQ(list[2].address, "plain@example.org");
  EXPECT_EQ(list[3].name, "undisclosed-recipients");
  EXPECT_EQ(list[3].address, "");
}

TEST(MimeMailboxes, GroupMembersAndGarbage) {
  const auto list = mailboxes("team: a@x.example, b@y.example;");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].address, "b@y.example");
  EXPECT_TRUE(mailboxes("").empty());
  for (const Mailbox& box : mailboxes("<<<>>>,,,@@@ \"unterminated")) {
    EXPECT_EQ(box.address.find('\0'), std::string::npos);
  }
}

}  // namespace
}  // namespace spamgate::mime
