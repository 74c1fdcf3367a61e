// Reverse names (PTR and DNSxL query names) and query-name normalisation.
#include "dns/names.h"

#include <gtest/gtest.h>

#include <string>

namespace spamgate::dns {
namespace {

TEST(DnsNames, ReverseNameIpv4) {
  EXPECT_EQ(reverseName("127.0.0.2"), "2.0.0.127.in-addr.arpa");
  EXPECT_EQ(reverseName("192.0.2.10"), "10.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverseName("0.0.0.0"), "0.0.0.0.in-addr.arpa");
  EXPECT_EQ(reverseName("255.255.255.255"), "255.255.255.255.in-addr.arpa");
}

TEST(DnsNames, ReverseNameIpv6Nibbles) {
  EXPECT_EQ(reverseName("2001:db8::1"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  EXPECT_EQ(reverseName("::1"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
  // Upper-case input, lower-case nibbles; every nibble of a full address in reverse.
  EXPECT_EQ(reverseName("FEDC:BA98:7654:3210:0123:4567:89AB:CDEF"),
            "f.e.d.c.b.a.9.8.7.6.5.4.3.2.1.0.0.1.2.3.4.5.6.7.8.9.a.b.c.d.e.f.ip6.arpa");
}

TEST(DnsNames, ReverseNameIpv4MappedIsIpv4) {
  EXPECT_EQ(reverseName("::ffff:127.0.0.2"), "2.0.0.127.in-addr.arpa");
  EXPECT_EQ(reverseName("::FFFF:7F00:2"), "2.0.0.127.in-addr.arpa");
  // IPv4-compatible (deprecated) and NAT64 addresses are plain IPv6.
  EXPECT_EQ(reverseName("64:ff9b::7f00:2"),
            "2.0.0.0.0.0.f.7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.9.f.f.4.6.0.0.ip6.arpa");
}

TEST(DnsNames, ReverseNameRejectsNonAddresses) {
  for (const char* bad : {"", "127.0.0.256", "127.0.0", "[::1]", "fe80::1%eth0", "host", " 1.2.3.4",
                          "1.2.3.4 ", "::g"}) {
    EXPECT_EQ(reverseName(bad), "") << bad;
    EXPECT_EQ(reversedAddress(bad), "") << bad;
  }
}

TEST(DnsNames, ReversedAddressForDnsxl) {
  EXPECT_EQ(reversedAddress("127.0.0.2"), "2.0.0.127");
  EXPECT_EQ(reversedAddress("::ffff:192.0.2.99"), "99.2.0.192");
  EXPECT_EQ(reversedAddress("::1").size(), 63u);
}

TEST(DnsNames, NormalizeName) {
  EXPECT_EQ(normalizeName("Mail.Example.COM."), "mail.example.com");
  EXPECT_EQ(normalizeName("example.com"), "example.com");
  EXPECT_EQ(normalizeName("2.0.0.127.dnsbl.test"), "2.0.0.127.dnsbl.test");
  EXPECT_EQ(normalizeName("_dmarc.example.com"), "_dmarc.example.com");
}

TEST(DnsNames, NormalizeNameRejects) {
  std::string label63(63, 'a');
  std::string label64(64, 'a');
  EXPECT_TRUE(normalizeName(label63 + ".test"));
  EXPECT_FALSE(normalizeName(label64 + ".test"));
  std::string long_name;  // 4 x 63-octet labels: 256 octets in wire form
  for (int i = 0; i < 4; ++i)
    long_name += label63 + ".";
  EXPECT_FALSE(normalizeName(long_name));
  for (const char* bad : {"", ".", "..", "a..b", ".a", "a b", "a\tb", "a\nb", "a\\", "\x80.test"}) {
    EXPECT_FALSE(normalizeName(bad)) << bad;
  }
}

}  // namespace
}  // namespace spamgate::dns
