// DMARC policy records (RFC 7489 6.3, 6.6.3) and organizational domains over Debian's public
// suffix list.
#include <gtest/gtest.h>

#include <filesystem>

#include "auth/dmarc.h"

namespace spamgate::auth {
namespace {

DmarcRecordParse parse(std::string_view text) {
  return parseDmarcRecord(text);
}

TEST(DmarcRecord, FullRecord) {
  const DmarcRecordParse r = parse(
      "v=DMARC1; p=Reject; sp=quarantine; pct=25; adkim=s; aspf=S; rua=mailto:d@example.com;");
  ASSERT_EQ(r.status, DmarcRecordStatus::Ok);
  EXPECT_EQ(r.record.policy, DmarcPolicy::Reject);
  EXPECT_EQ(r.record.subdomain_policy, DmarcPolicy::Quarantine);
  EXPECT_EQ(r.record.pct, 25u);
  EXPECT_TRUE(r.record.strict_dkim);
  EXPECT_TRUE(r.record.strict_spf);
}

TEST(DmarcRecord, DefaultsWhitespaceAndUnknownTags) {
  const DmarcRecordParse r = parse("v = DMARC1 ;\tp = quarantine ; fo=1; future=x ;;");
  ASSERT_EQ(r.status, DmarcRecordStatus::Ok);
  EXPECT_EQ(r.record.policy, DmarcPolicy::Quarantine);
  EXPECT_EQ(r.record.subdomain_policy, std::nullopt);
  EXPECT_EQ(r.record.pct, 100u);
  EXPECT_FALSE(r.record.strict_dkim);
  EXPECT_FALSE(r.record.strict_spf);
}

TEST(DmarcRecord, VersionMustComeFirstAndExactly) {
  EXPECT_EQ(parse("p=reject; v=DMARC1").status, DmarcRecordStatus::NotDmarc);
  EXPECT_EQ(parse("v=DMARC2; p=reject").status, DmarcRecordStatus::NotDmarc);
  EXPECT_EQ(parse("v=dmarc1; p=reject").status, DmarcRecordStatus::NotDmarc);
  EXPECT_EQ(parse("v=spf1 -all").status, DmarcRecordStatus::NotDmarc);
  EXPECT_EQ(parse("").status, DmarcRecordStatus::NotDmarc);
  EXPECT_EQ(parse("V=DMARC1; p=none").status, DmarcRecordStatus::Ok);
}

TEST(DmarcRecord, InvalidPolicyWithoutRuaIsInvalid) {
  const DmarcRecordParse missing = parse("v=DMARC1");
  EXPECT_EQ(missing.status, DmarcRecordStatus::Invalid);
  EXPECT_EQ(missing.error, "no p tag");
  const DmarcRecordParse bad = parse("v=DMARC1; p=drop");
  EXPECT_EQ(bad.status, DmarcRecordStatus::Invalid);
  EXPECT_EQ(bad.error, "invalid p=drop");
  EXPECT_EQ(parse("v=DMARC1; p=reject; sp=bogus").status, DmarcRecordStatus::Invalid);
  EXPECT_EQ(parse("v=DMARC1; p=reject; rua=not a uri").status, DmarcRecordStatus::Ok);
  EXPECT_EQ(parse("v=DMARC1; p=x; rua=not a uri").status, DmarcRecordStatus::Invalid);
}

TEST(DmarcRecord, InvalidPolicyWithRuaActsAsNone) {
  const DmarcRecordParse r = parse("v=DMARC1; p=bogus; sp=reject; rua=x, mailto:a@example.com");
  ASSERT_EQ(r.status, DmarcRecordStatus::Ok);
  EXPECT_EQ(r.record.policy, DmarcPolicy::None);
  EXPECT_EQ(r.record.subdomain_policy, std::nullopt);
}

TEST(DmarcRecord, BadOptionalValuesFallBackToDefaults) {
  for (const char* text : {"v=DMARC1; p=reject; pct=101; adkim=x; aspf=relaxed",
                           "v=DMARC1; p=reject; pct=-1; adkim=; aspf",
                           "v=DMARC1; p=reject; pct=1000", "v=DMARC1; p=reject; pct=5%"}) {
    const DmarcRecordParse r = parse(text);
    ASSERT_EQ(r.status, DmarcRecordStatus::Ok) << text;
    EXPECT_EQ(r.record.pct, 100u) << text;
    EXPECT_FALSE(r.record.strict_dkim) << text;
    EXPECT_FALSE(r.record.strict_spf) << text;
  }
  EXPECT_EQ(parse("v=DMARC1; p=reject; pct=0").record.pct, 0u);
  EXPECT_EQ(parse("v=DMARC1; p=reject; pct=007").record.pct, 7u);
}

TEST(DmarcRecord, FirstOfDuplicateTagsCounts) {
  const DmarcRecordParse r = parse("v=DMARC1; p=none; p=reject; pct=10; pct=90");
  ASSERT_EQ(r.status, DmarcRecordStatus::Ok);
  EXPECT_EQ(r.record.policy, DmarcPolicy::None);
  EXPECT_EQ(r.record.pct, 10u);
}

class OrganizationalDomain : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists("/usr/share/publicsuffix/public_suffix_list.dafsa") &&
        !std::filesystem::exists("/usr/share/publicsuffix/public_suffix_list.dat")) {
      GTEST_SKIP() << "no public suffix list in /usr/share/publicsuffix (package publicsuffix)";
    }
  }
};

TEST_F(OrganizationalDomain, PublicSuffixList) {
  EXPECT_EQ(organizationalDomain("mail.example.co.uk"), "example.co.uk");
  EXPECT_EQ(organizationalDomain("example.co.uk"), "example.co.uk");
  EXPECT_EQ(organizationalDomain("a.b.c.example.com"), "example.com");
  EXPECT_EQ(organizationalDomain("example.com"), "example.com");
  EXPECT_EQ(organizationalDomain("co.uk"), "co.uk");  // a public suffix: itself
  EXPECT_EQ(organizationalDomain("com"), "com");
  EXPECT_EQ(organizationalDomain("x.city.kawasaki.jp"), "city.kawasaki.jp");  // exception rule
  EXPECT_EQ(organizationalDomain(""), "");
}

}  // namespace
}  // namespace spamgate::auth
