// Nameserver address parsing, the source-address check and resolv.conf defaults.
#include "dns/options.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace spamgate::dns {
namespace {

TEST(DnsOptions, ParsesNameservers) {
  EXPECT_EQ(parseNameserver("127.0.0.1:5353")->text, "127.0.0.1:5353");
  EXPECT_EQ(parseNameserver("127.0.0.1")->text, "127.0.0.1:53");
  EXPECT_EQ(parseNameserver("[::1]:5353")->text, "[::1]:5353");
  EXPECT_EQ(parseNameserver("[::1]")->text, "[::1]:53");
  EXPECT_EQ(parseNameserver("::1")->text, "[::1]:53");
  EXPECT_EQ(parseNameserver("127.0.0.1:5353")->length, sizeof(sockaddr_in));
  EXPECT_EQ(parseNameserver("[::1]:53")->length, sizeof(sockaddr_in6));
  for (const char* bad : {"", "localhost:53", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                          "127.0.0.1:53x", "[::1", "[::1]53", "[127.0.0.1.5]:53", "1.2.3:53"}) {
    EXPECT_FALSE(parseNameserver(bad)) << bad;
  }
}

TEST(DnsOptions, MatchesOnlyTheSameAddressAndPort) {
  Nameserver server = *parseNameserver("127.0.0.1:5353");
  EXPECT_TRUE(server.matches(server.address, server.length));
  Nameserver other_port = *parseNameserver("127.0.0.1:5354");
  Nameserver other_ip = *parseNameserver("127.0.0.2:5353");
  Nameserver v6 = *parseNameserver("[::1]:5353");
  EXPECT_FALSE(server.matches(other_port.address, other_port.length));
  EXPECT_FALSE(server.matches(other_ip.address, other_ip.length));
  EXPECT_FALSE(server.matches(v6.address, v6.length));
  EXPECT_TRUE(v6.matches(v6.address, v6.length));
  EXPECT_FALSE(v6.matches(parseNameserver("[::2]:5353")->address, v6.length));
}

class DnsOptionsResolvConf : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/spamgate-resolv-XXXXXX";
    int fd = mkstemp(name);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = name;
  }
  void TearDown() override { unlink(path_.c_str()); }
  void write(const std::string& text) { std::ofstream(path_) << text; }
  std::string path_;
};

TEST_F(DnsOptionsResolvConf, ReadsNameserversAndOptions) {
  write(
      "# comment\nsearch example.com\nnameserver 127.0.0.53\nnameserver ::1\n"
      "nameserver fe80::1%eth0\nnameserver bogus\noptions edns0 timeout:3 attempts:4\n");
  Options options = Options::fromResolvConf(path_);
  EXPECT_EQ(options.nameservers, (std::vector<std::string>{"127.0.0.53", "[::1]"}));
  EXPECT_EQ(options.timeout, std::chrono::seconds(3));
  EXPECT_EQ(options.attempts, 4u);
}

TEST_F(DnsOptionsResolvConf, DefaultsLikeGlibc) {
  write("search example.com\noptions timeout:0 attempts:x\n");
  Options options = Options::fromResolvConf(path_);
  EXPECT_EQ(options.nameservers, (std::vector<std::string>{"127.0.0.1:53"}));
  EXPECT_EQ(options.timeout, std::chrono::seconds(2));
  EXPECT_EQ(options.attempts, 2u);
  Options missing = Options::fromResolvConf("/nonexistent/resolv.conf");
  EXPECT_EQ(missing.nameservers, (std::vector<std::string>{"127.0.0.1:53"}));
  EXPECT_EQ(missing.cache_max_entries, 100000u);
  EXPECT_EQ(missing.edns_buffer, 1232);
}

}  // namespace
}  // namespace spamgate::dns
