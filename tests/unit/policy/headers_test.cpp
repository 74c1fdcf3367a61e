// Header stamping: the Received trace header and its folding, the X-Spam headers, reading a
// header field back from a message, and the RFC 5322 date.
#include "policy/headers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace spamgate::policy {
namespace {

// Lines of a CRLF-terminated header block, without their CRLF. Fails on a bare CR or LF.
std::vector<std::string> crlfLines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto eol = text.find("\r\n", pos);
    EXPECT_NE(eol, std::string::npos) << "unterminated last line in: " << text;
    if (eol == std::string::npos) break;
    const std::string line = text.substr(pos, eol - pos);
    EXPECT_EQ(line.find_first_of("\r\n"), std::string::npos) << "bare CR or LF in: " << line;
    lines.push_back(line);
    pos = eol + 2;
  }
  return lines;
}

// Display width with a tab stop of 8: stricter than counting octets.
std::size_t width(const std::string& line) {
  std::size_t column = 0;
  for (char c : line)
    column = c == '\t' ? (column / 8 + 1) * 8 : column + 1;
  return column;
}

std::string unfold(std::string text) {
  for (auto pos = text.find("\r\n\t"); pos != std::string::npos; pos = text.find("\r\n\t", pos))
    text.replace(pos, 3, " ");
  return text;
}

void expectWellFolded(const std::string& header) {
  const auto lines = crlfLines(header);
  ASSERT_FALSE(lines.empty());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_LE(width(lines[i]), 78u) << "line " << i << ": " << lines[i];
    EXPECT_FALSE(lines[i].find_first_not_of(" \t") == std::string::npos)
        << "whitespace-only line " << i;
    if (i > 0) {
      EXPECT_EQ(lines[i][0], '\t') << "continuation line " << i << " is not folded";
    } else {
      EXPECT_NE(lines[i][0], '\t');
    }
  }
}

ReceivedInfo sample() {
  ReceivedInfo info;
  info.helo = "mail.example.org";
  info.client_ip = "192.0.2.1";
  info.client_name = "mail.example.org";
  info.hostname = "mx.example.net";
  info.protocol = "ESMTPS";
  info.tls = "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384";
  info.id = "0123456789ABCDEF";
  info.recipient = "user@example.net";
  info.when = 1764467058;
  return info;
}

TEST(Rfc5322DateTest, FormatsUtc) {
  EXPECT_EQ(rfc5322Date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(rfc5322Date(1764467058), "Sun, 30 Nov 2025 01:44:18 +0000");
  EXPECT_EQ(rfc5322Date(951782400 + 86399), "Tue, 29 Feb 2000 23:59:59 +0000");
}

TEST(ReceivedHeaderTest, FullContentOnceUnfolded) {
  const auto header = receivedHeader(sample());
  EXPECT_EQ(unfold(header),
            "Received: from mail.example.org (mail.example.org [192.0.2.1]) by mx.example.net "
            "(spamgate) (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384) with ESMTPS id "
            "0123456789ABCDEF for <user@example.net>; Sun, 30 Nov 2025 01:44:18 +0000\r\n");
  expectWellFolded(header);
  EXPECT_GT(crlfLines(header).size(), 1u) << "a header this long must be folded";
}

TEST(ReceivedHeaderTest, ForOnlyWithARecipient) {
  auto info = sample();
  info.recipient.clear();
  const auto header = unfold(receivedHeader(info));
  EXPECT_EQ(header.find(" for "), std::string::npos) << header;
  EXPECT_EQ(header.find('<'), std::string::npos) << header;
  EXPECT_NE(header.find("id 0123456789ABCDEF; Sun, 30 Nov 2025"), std::string::npos) << header;
}

TEST(ReceivedHeaderTest, PlaintextHasNoUsingClause) {
  auto info = sample();
  info.tls.clear();
  info.protocol = "ESMTP";
  const auto header = unfold(receivedHeader(info));
  EXPECT_EQ(header.find("using"), std::string::npos) << header;
  EXPECT_NE(header.find("by mx.example.net (spamgate) with ESMTP id"), std::string::npos) << header;
}

TEST(ReceivedHeaderTest, UnknownNameAndMissingHelo) {
  auto info = sample();
  info.client_name.clear();
  info.helo.clear();
  const auto header = unfold(receivedHeader(info));
  EXPECT_EQ(header.rfind("Received: from unknown (unknown [192.0.2.1]) by", 0), 0u) << header;

  info.helo = "claimed.example";
  EXPECT_EQ(unfold(receivedHeader(info)).rfind("Received: from claimed.example (unknown [", 0), 0u);
}

TEST(ReceivedHeaderTest, LongValuesStayUnder78Columns) {
  auto info = sample();
  info.helo = std::string(60, 'h') + ".example";
  info.client_name = std::string(60, 'n') + ".example";
  info.client_ip = "2001:db8:1234:5678:9abc:def0:1234:5678";
  info.hostname = std::string(55, 'm') + ".example.net";
  info.protocol = "UTF8SMTPS";
  info.recipient = std::string(40, 'r') + "@" + std::string(15, 'd') + ".example";
  const auto header = receivedHeader(info);
  expectWellFolded(header);
  EXPECT_NE(unfold(header).find("for <" + info.recipient + ">;"), std::string::npos);
  EXPECT_NE(unfold(header).find("(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)"),
            std::string::npos);
}

TEST(ReceivedHeaderTest, EveryCutPointOfTheTlsTextFoldsCleanly) {
  // Move the "(using ...)" clause across the fold column one character at a time.
  for (std::size_t n = 1; n <= 60; ++n) {
    auto info = sample();
    info.hostname = std::string(n, 'x') + ".example";
    const auto header = receivedHeader(info);
    SCOPED_TRACE(n);
    expectWellFolded(header);
    EXPECT_NE(unfold(header).find("(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384) with"),
              std::string::npos);
  }
}

TEST(SpamHeadersTest, SpamWithSymbols) {
  const std::vector<Symbol> symbols = {
      {"DNSBL_LISTED", 4.0, "d"}, {"HELO_BARE_IP", 1.5, ""}, {"DNSBL_LISTED", 1.0, "again"}};
  EXPECT_EQ(spamHeaders(true, 5.5, 5.0, symbols),
            "X-Spam-Flag: YES\r\n"
            "X-Spam-Score: 5.5\r\n"
            "X-Spam-Status: Yes, score=5.5 required=5.0 tests=DNSBL_LISTED,HELO_BARE_IP\r\n");
}

TEST(SpamHeadersTest, HamHasNoFlagAndTestsNone) {
  EXPECT_EQ(spamHeaders(false, -1.25, 5, {}),
            "X-Spam-Score: -1.2\r\n"
            "X-Spam-Status: No, score=-1.2 required=5.0 tests=none\r\n");
}

TEST(SpamHeadersTest, ManySymbolsFoldAfterCommas) {
  std::vector<Symbol> symbols;
  std::string expected = "X-Spam-Status: Yes, score=10.0 required=5.0 tests=";
  for (int i = 0; i < 20; ++i) {
    symbols.push_back(Symbol{"SOME_LONGER_SYMBOL_" + std::to_string(i), 0.5, ""});
    expected += "SOME_LONGER_SYMBOL_" + std::to_string(i) + (i < 19 ? "," : "");
  }
  const auto headers = spamHeaders(true, 10, 5, symbols);
  const auto lines = crlfLines(headers);
  ASSERT_GT(lines.size(), 4u);
  const auto at = headers.find("X-Spam-Status:");
  ASSERT_NE(at, std::string::npos);
  std::string block = headers.substr(at);
  expectWellFolded(block);
  for (auto fold = block.find(",\r\n\t"); fold != std::string::npos; fold = block.find(",\r\n\t"))
    block.erase(fold + 1, 3);  // folds come right after a comma
  EXPECT_EQ(block, expected + "\r\n");
}

TEST(HeaderValueTest, FindsCaseInsensitively) {
  const std::string message =
      "From: a@example.org\r\nmessage-id: <abc@example.org>\r\nSubject: hi\r\n\r\nbody\r\n";
  EXPECT_EQ(headerValue(message, "Message-ID"), "<abc@example.org>");
  EXPECT_EQ(headerValue(message, "MESSAGE-ID"), "<abc@example.org>");
  EXPECT_EQ(headerValue(message, "from"), "a@example.org");
  EXPECT_EQ(headerValue(message, "Subject"), "hi");
}

TEST(HeaderValueTest, AbsentHeaderIsEmpty) {
  const std::string message = "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n";
  EXPECT_EQ(headerValue(message, "Message-ID"), "");
  EXPECT_EQ(headerValue("", "Subject"), "");
}

TEST(HeaderValueTest, NameMustMatchWholly) {
  const std::string message =
      "X-Subject: wrong\r\nSubject-Extra: wrong too\r\nSubjec: short\r\nSubject: right\r\n\r\n";
  EXPECT_EQ(headerValue(message, "Subject"), "right");
}

TEST(HeaderValueTest, FirstOccurrenceWins) {
  EXPECT_EQ(headerValue("Subject: one\r\nSubject: two\r\n\r\n", "Subject"), "one");
}

TEST(HeaderValueTest, FoldedValueIsUnfolded) {
  const std::string message =
      "Subject: a long\r\n  subject\r\n\tthat folds\r\nTo: b@example.org\r\n\r\nbody\r\n";
  EXPECT_EQ(headerValue(message, "Subject"), "a long subject that folds");
  EXPECT_EQ(headerValue(message, "To"), "b@example.org");
  EXPECT_EQ(headerValue("Message-ID:\r\n <x@y>\r\n\r\n", "Message-ID"), "<x@y>");
}

TEST(HeaderValueTest, OuterSpacesTrimmed) {
  EXPECT_EQ(headerValue("Subject:   spaced out  \t\r\n\r\n", "Subject"), "spaced out");
  EXPECT_EQ(headerValue("Subject:\r\n\r\n", "Subject"), "");
}

TEST(HeaderValueTest, StopsAtTheBlankLine) {
  const std::string message = "From: a@example.org\r\n\r\nMessage-ID: <in-body@example.org>\r\n";
  EXPECT_EQ(headerValue(message, "Message-ID"), "");
  // A folded value does not run into the body either.
  EXPECT_EQ(headerValue("Subject: s\r\n\r\n continued?\r\n", "Subject"), "s");
}

TEST(HeaderValueTest, LastHeaderWithoutCrlfAtEndOfInput) {
  EXPECT_EQ(headerValue("From: a\r\nSubject: tail", "Subject"), "tail");
  EXPECT_EQ(headerValue("Subject: tail\r\n folded", "Subject"), "tail folded");
  EXPECT_EQ(headerValue("Subject: tail\r\n", "Subject"), "tail");
  EXPECT_EQ(headerValue("From: a\r\nSubj", "Subject"), "");
}

TEST(HeaderValueTest, BoundedToTheFirst64KiB) {
  std::string message;
  while (message.size() < 70 * 1024)
    message += "X-Filler: " + std::string(100, 'f') + "\r\n";
  const std::string late = message + "Message-ID: <late@example.org>\r\n\r\n";
  EXPECT_EQ(headerValue(late, "Message-ID"), "");
  const std::string early = "Message-ID: <early@example.org>\r\n" + message + "\r\n";
  EXPECT_EQ(headerValue(early, "Message-ID"), "<early@example.org>");
}

}  // namespace
}  // namespace spamgate::policy
