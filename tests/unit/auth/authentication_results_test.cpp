// Authentication-Results (RFC 8601): the field we write (results, quoting, folding, the
// "none" form) and the removal of fields that claim our authserv-id.
#include "auth/authentication_results.h"

#include <gtest/gtest.h>

#include <string>

#include "auth/from_header.h"

namespace spamgate::auth {
namespace {

AuthFacts fullFacts() {
  AuthFacts facts;
  facts.spf = SpfOutcome{SpfResult::Pass, false, "user@example.com", "example.com", "ip4"};
  facts.dkim_checked = true;
  facts.dkim.push_back(DkimSignatureOutcome{DkimResult::Pass, "example.com", "sel", "rsa-sha256",
                                            "", "AbCdEfGh", ""});
  DmarcOutcome dmarc;
  dmarc.result = DmarcResult::Pass;
  dmarc.from_domain = "example.com";
  dmarc.policy = DmarcPolicy::Reject;
  facts.dmarc = dmarc;
  return facts;
}

TEST(AuthenticationResultsHeader, AllMethods) {
  EXPECT_EQ(authenticationResultsHeader("mx.example.net", fullFacts()),
            "Authentication-Results: mx.example.net;\r\n"
            "\tspf=pass smtp.mailfrom=user@example.com;\r\n"
            "\tdkim=pass header.d=example.com header.s=sel header.b=AbCdEfGh;\r\n"
            "\tdmarc=pass (p=reject) header.from=example.com\r\n");
}

TEST(AuthenticationResultsHeader, NothingCheckedIsNone) {
  EXPECT_EQ(authenticationResultsHeader("mx.example.net", AuthFacts{}),
            "Authentication-Results: mx.example.net; none\r\n");
}

TEST(AuthenticationResultsHeader, HeloDkimNoneAndDmarcWithoutPolicy) {
  AuthFacts facts;
  facts.spf = SpfOutcome{SpfResult::SoftFail, true, "postmaster@helo.example", "helo.example", ""};
  facts.dkim_checked = true;
  DmarcOutcome dmarc;
  dmarc.result = DmarcResult::None;
  dmarc.from_domain = "example.org";
  facts.dmarc = dmarc;
  EXPECT_EQ(authenticationResultsHeader("mx", facts),
            "Authentication-Results: mx;\r\n"
            "\tspf=softfail smtp.helo=helo.example;\r\n"
            "\tdkim=none;\r\n"
            "\tdmarc=none header.from=example.org\r\n");
}

TEST(AuthenticationResultsHeader, QuotesValuesThatAreNotTokens) {
  AuthFacts facts;
  facts.spf = SpfOutcome{SpfResult::Fail, false, "\"john doe\"@example.com", "example.com", ""};
  facts.dkim.push_back(
      DkimSignatureOutcome{DkimResult::Fail, "example.com", "s1", "", "", "ab/+cd=e", ""});
  const std::string field = authenticationResultsHeader("mx", facts);
  EXPECT_NE(field.find("smtp.mailfrom=\"\\\"john doe\\\"@example.com\";"), std::string::npos)
      << field;
  EXPECT_NE(field.find("header.b=\"ab/+cd=e\""), std::string::npos) << field;
  EXPECT_NE(field.find("dkim=fail header.d=example.com "), std::string::npos) << field;
}

TEST(AuthenticationResultsHeader, PeerBytesCannotBreakTheField) {
  AuthFacts facts;
  facts.spf =
      SpfOutcome{SpfResult::Pass, false, "a\r\nX-Evil: 1\r\n@example.com", "example.com", ""};
  const std::string field = authenticationResultsHeader("mx", facts);
  EXPECT_EQ(field.find("\r\nX-Evil"), std::string::npos) << field;
  EXPECT_NE(field.find("\"a??X-Evil: 1??@example.com\""), std::string::npos) << field;
  EXPECT_EQ(headerFields(field).size(), 1u);
}

TEST(AuthenticationResultsHeader, FoldsLongResinfosUnder78Columns) {
  AuthFacts facts;
  const std::string long_domain = "a-rather-long-subdomain-name.with-many-labels.long.example.com";
  facts.dkim.push_back(DkimSignatureOutcome{DkimResult::Pass, long_domain, "selector-2024-long", "",
                                            "", "ABCDEFGH", ""});
  const std::string field = authenticationResultsHeader("mx.example.net", facts);
  std::size_t lines = 0;
  for (std::size_t pos = 0; pos < field.size(); ++lines) {
    const std::size_t eol = field.find("\r\n", pos);
    ASSERT_NE(eol, std::string::npos);
    EXPECT_LE(eol - pos, 78u) << field.substr(pos, eol - pos);
    if (pos > 0) {
      EXPECT_EQ(field[pos], '\t');
    }
    pos = eol + 2;
  }
  EXPECT_EQ(lines, 4u) << field;  // the id, "dkim=pass", the long header.d, header.s and .b
  EXPECT_NE(field.find("\theader.d=" + long_domain + "\r\n"), std::string::npos) << field;
  EXPECT_EQ(headerFields(field).size(), 1u);
}

// d=, s= and b= come from the peer's signature: only values of their RFC 6376 syntax are
// written, so no value of theirs can make an over-long line.
TEST(AuthenticationResultsHeader, LeavesOutDkimPropertiesThatAreNotOfTheirSyntax) {
  const std::string label63(63, 'a');
  const std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  ASSERT_EQ(name253.size(), 253u);
  const std::string name254 = "c" + name253;  // its first label is 64 octets: two reasons
  const std::string name255 = name253 + ".c";
  const struct {
    std::string domain, selector, header_b;
    bool domain_kept, selector_kept, b_kept;
  } cases[] = {
      {"example.com", "sel-2024.eu", "AbC+/d=", true, true, true},
      {name253, name253, "AbCdEfGh", true, true, true},
      {name255, name255, "AbCdEfGh", false, false, true},
      {name254, "s", "AbCdEfGh", false, true, true},
      {"com", "s=1", "Ab\"Cd", false, false, false},              // one-label d=; not a selector
      {"exa mple.com", "sel;x", "AbCd Ef", false, false, false},  // WSP, ';'
      {"-example.com", "sel-", "", false, false, false},
      {"example..com", ".sel", "", false, false, false},
      {"example.com.", "sel.", "", false, false, false},
      {"_dmarc.example.com", "s_1", "", false, false, false},
      {"b\xc3\xa4r.example", "s\r\nX-Evil: 1", "", false, false, false},
  };
  for (const auto& c : cases) {
    AuthFacts facts;
    facts.dkim.push_back(
        DkimSignatureOutcome{DkimResult::Fail, c.domain, c.selector, "", "", c.header_b, ""});
    const std::string field = authenticationResultsHeader("mx.example.net", facts);
    SCOPED_TRACE(field);
    EXPECT_EQ(field.find("header.d=" + c.domain + "\r") != std::string::npos ||
                  field.find("header.d=" + c.domain + " ") != std::string::npos,
              c.domain_kept);
    EXPECT_EQ(field.find("header.d=") != std::string::npos, c.domain_kept);
    EXPECT_EQ(field.find("header.s=" + c.selector) != std::string::npos, c.selector_kept);
    EXPECT_EQ(field.find("header.s=") != std::string::npos, c.selector_kept);
    EXPECT_EQ(field.find("header.b=") != std::string::npos, c.b_kept);
    EXPECT_NE(field.find("\tdkim=fail"), std::string::npos);
    EXPECT_EQ(headerFields(field).size(), 1u);
    for (std::size_t pos = 0; pos < field.size();) {
      const std::size_t eol = field.find("\r\n", pos);
      ASSERT_NE(eol, std::string::npos);
      EXPECT_LE(eol - pos, 1 + std::string("header.d=").size() + 253);
      pos = eol + 2;
    }
  }
}

TEST(AuthservId, Forms) {
  EXPECT_EQ(authservId(" mx.example.net; spf=pass"), "mx.example.net");
  EXPECT_EQ(authservId("mx.example.net 1; none"), "mx.example.net");
  EXPECT_EQ(authservId(" (comment (nested) \\) ) \r\n\tMX.Example.NET (x); none"),
            "MX.Example.NET");
  EXPECT_EQ(authservId(" \"mx.example.net\" ; none"), "mx.example.net");
  EXPECT_EQ(authservId("\"a\\\"b\"; none"), "a\"b");
  EXPECT_EQ(authservId("mx.example.net;dkim=pass"), "mx.example.net");
  EXPECT_EQ(authservId(""), std::nullopt);
  EXPECT_EQ(authservId(" (only a comment) "), std::nullopt);
  EXPECT_EQ(authservId("; spf=pass"), std::nullopt);
  EXPECT_EQ(authservId("\"unterminated"), std::nullopt);
  EXPECT_EQ(authservId(" (comment ending in a quoted-pair \\"), std::nullopt);  // fuzz repro
}

}  // namespace
}  // namespace spamgate::auth
