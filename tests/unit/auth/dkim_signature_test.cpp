// The RFC 6376 3.2 tag-list parser and the DKIM-Signature finder: pure functions.
#include "auth/dkim_signature.h"

#include <gtest/gtest.h>

#include <string>

namespace spamgate::auth {
namespace {

TEST(DkimTagList, ParsesWithFwsAndEmptyValues) {
  std::string error;
  const auto list = parseTagList(" v = 1 ;\r\n\ta=rsa-sha256; n=; b=ab cd\r\n ef ;", &error);
  ASSERT_TRUE(list.has_value()) << error;
  ASSERT_EQ(list->tags.size(), 4u);
  EXPECT_EQ(*list->find("v"), "1");
  EXPECT_EQ(*list->find("n"), "");
  EXPECT_EQ(*list->find("b"), "ab cd\r\n ef");
  EXPECT_EQ(list->find("x"), nullptr);
  EXPECT_EQ(withoutWhitespace(*list->find("b")), "abcdef");
}

TEST(DkimTagList, RejectsWhatRfc6376Forbids) {
  for (const char* bad : {"a=1; a=2", "a=1;; b=2", "k=rsa; t; p=x", "1a=x", "a=b;c", "a=x\x01y",
                          "_a=1", "a=1;b=2;;"}) {
    std::string error;
    EXPECT_FALSE(parseTagList(bad, &error).has_value()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  EXPECT_TRUE(parseTagList("").has_value());
  EXPECT_TRUE(parseTagList("a=1;").has_value());
}

TEST(DkimTagList, IsBounded) {
  std::string many;
  for (std::size_t i = 0; i <= TagList::kMaxTags; ++i)
    many += "t" + std::to_string(i) + "=1;";
  EXPECT_FALSE(parseTagList(many).has_value());
}

TEST(DkimSignatures, FindsEverySignatureOfTheHeaderBlockOnly) {
  const std::string message =
      "Received: by x\r\n"
      "DKIM-Signature: v=1; a=RSA-SHA256; d=Example.COM; s=Sel;\r\n"
      "\ti=@example.com; b=ABCD EFGH\r\n"
      " IJKL; bh=x; h=from\r\n"
      "dkim-signature : v=1; d=b.example; s=s2; a=ed25519-sha256; b=\r\n"
      "DKIM-Signature: v=1; d=c.example; d=again; s=x\r\n"
      "DKIM-Signature: v=1; a=rsa-sha256; b=abc\r\n"
      "From: a@example.com\r\n"
      "\r\n"
      "DKIM-Signature: v=1; d=body.example; s=no\r\n";
  const DkimSignatures found = findDkimSignatures(message, 10);
  EXPECT_EQ(found.seen, 4u);
  ASSERT_EQ(found.signatures.size(), 4u);
  const DkimSignature& first = found.signatures[0];
  EXPECT_EQ(first.error, "");
  EXPECT_EQ(first.domain, "example.com");
  EXPECT_EQ(first.selector, "Sel");
  EXPECT_EQ(first.algorithm, "rsa-sha256");
  EXPECT_EQ(first.identity, "@example.com");
  EXPECT_EQ(first.b, "ABCDEFGHIJKL");
  EXPECT_EQ(first.header_b, "ABCDEFGH");
  EXPECT_EQ(first.keyName(), "sel._domainkey.example.com");
  EXPECT_EQ(found.signatures[1].domain, "b.example");
  EXPECT_EQ(found.signatures[1].header_b, "");
  EXPECT_NE(found.signatures[2].error.find("duplicate"), std::string::npos);
  EXPECT_EQ(found.signatures[2].keyName(), "");
  EXPECT_NE(found.signatures[3].error.find("no d="), std::string::npos);
}

TEST(DkimSignatures, KeepsAtMostMaxButCountsAll) {
  std::string message;
  for (int i = 0; i < 5; ++i)
    message += "DKIM-Signature: v=1; d=a.example; s=s" + std::to_string(i) + "\n";
  message += "\nbody\n";
  const DkimSignatures found = findDkimSignatures(message, 2);
  EXPECT_EQ(found.seen, 5u);
  ASSERT_EQ(found.signatures.size(), 2u);
  EXPECT_EQ(found.signatures[1].selector, "s1");
}

TEST(DkimSignatures, NoneInAnUnsignedMessage) {
  EXPECT_EQ(findDkimSignatures("From: a@b\r\nSubject: DKIM-Signature: no\r\n\r\nx", 10).seen, 0u);
  EXPECT_EQ(findDkimSignatures("", 10).seen, 0u);
}

}  // namespace
}  // namespace spamgate::auth
