// policy::stampMessage: our fields on top; X-Spam-* and Authentication-Results claiming our
// authserv-id removed from the peer's message (RFC 8601 section 5); the subject prefix of
// tagged mail; everything else byte for byte.
#include "policy/rewrite.h"

#include <gtest/gtest.h>

#include <string>

namespace spamgate::policy {
namespace {

std::string stripped(std::string_view message, std::string_view id) {
  return stampMessage("", message, Rewrite{id, ""});
}

TEST(RemoveAuthenticationResults, OursGoOthersStay) {
  const std::string message =
      "Received: from a\r\n"
      "Authentication-Results: mx.example.net; spf=pass\r\n"
      "Authentication-Results: other.example; dkim=pass\r\n"
      "authentication-results: (forged)\r\n"
      "\t MX.EXAMPLE.NET;\r\n"
      "\tdkim=pass header.d=bank.example\r\n"
      "Authentication-Results: \"mx.example.net\" 1; none\r\n"
      "Authentication-Results: mx.example.network; none\r\n"
      "X-Authentication-Results: mx.example.net; none\r\n"
      "Subject: hi\r\n"
      "\r\n"
      "Authentication-Results: mx.example.net; in the body\r\n";
  EXPECT_EQ(stripped(message, "mx.example.net"),
            "Received: from a\r\n"
            "Authentication-Results: other.example; dkim=pass\r\n"
            "Authentication-Results: mx.example.network; none\r\n"
            "X-Authentication-Results: mx.example.net; none\r\n"
            "Subject: hi\r\n"
            "\r\n"
            "Authentication-Results: mx.example.net; in the body\r\n");
}

TEST(RemoveAuthenticationResults, UntouchedWithoutOursAndAtTheEdges) {
  const std::string plain = "A: 1\r\nB: 2\r\n\r\nbody\r\n";
  EXPECT_EQ(stripped(plain, "mx"), plain);
  EXPECT_EQ(stripped("Authentication-Results: mx; none", "mx"), "");
  EXPECT_EQ(stripped("Authentication-Results: mx; none\nA: 1\n", "mx"), "A: 1\n");
  EXPECT_EQ(stripped("Authentication-Results: mx; none\r\n", ""),
            "Authentication-Results: mx; none\r\n");
}

TEST(StampMessage, OursOnTopAndIncomingSpamHeadersRemoved) {
  const std::string message =
      "X-Spam-Flag: NO\r\n"
      "From: a@example.org\r\n"
      "x-spam-status: No, score=-100\r\n"
      "\tfolded=yes\r\n"
      "X-Spammy: kept\r\n"
      "\r\n"
      "X-Spam-Flag: in the body stays\r\n";
  EXPECT_EQ(stampMessage("Received: x\r\n", message, Rewrite{"mx", ""}),
            "Received: x\r\n"
            "From: a@example.org\r\n"
            "X-Spammy: kept\r\n"
            "\r\n"
            "X-Spam-Flag: in the body stays\r\n");
}

TEST(StampMessage, SubjectPrefixOnceOnTheFirstSubject) {
  const Rewrite tag{"mx", "[SPAM]"};
  EXPECT_EQ(stampMessage("", "Subject: Hello\r\nSubject: two\r\n\r\nb\r\n", tag),
            "Subject: [SPAM] Hello\r\nSubject: two\r\n\r\nb\r\n");
  EXPECT_EQ(stampMessage("", "subject:   [SPAM] again\r\n\r\n", tag),
            "subject:   [SPAM] again\r\n\r\n")
      << "not prefixed twice";
  EXPECT_EQ(stampMessage("", "Subject:\r\n\r\n", tag), "Subject: [SPAM]\r\n\r\n");
  EXPECT_EQ(stampMessage("", "Subject: a\r\n\tfolded\r\n\r\n", tag),
            "Subject: [SPAM] a\r\n\tfolded\r\n\r\n");
  EXPECT_EQ(stampMessage("", "From: a@b\r\n\r\nbody\r\n", tag),
            "Subject: [SPAM]\r\nFrom: a@b\r\n\r\nbody\r\n");
}

}  // namespace
}  // namespace spamgate::policy
