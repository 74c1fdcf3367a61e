// verifyDkim() through its real path: FakeDns serves the key records from the loop, the
// libopendkim work runs on a std::thread (ThreadOffload) and its result is posted back.
// Vectors: dkimpy's (testdata/dkim/dkimpy, with sign+verify round trips through
// libopendkim's signer) and Mail::DKIM's verifier corpus (testdata/dkim/mail-dkim); plus the
// RFC 8301 rules and the per-signature isolation of key lookup errors.
#include <event2/event.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "auth/dkim.h"
#include "auth/opendkim_cxx.h"
#include "dkim_test_util.h"
#include "fake_dns.h"
#include "support/event_loop.h"

namespace spamgate::auth {
namespace {

using test::FakeDns;
using test::readFile;
using test::toCrlf;

const std::string kDkimpy = std::string(SPAMGATE_TESTDATA) + "/dkim/dkimpy/";
const std::string kMailDkim = std::string(SPAMGATE_TESTDATA) + "/dkim/mail-dkim/";

std::string dkimpyFile(const std::string& name) {
  std::string text;
  EXPECT_TRUE(readFile(kDkimpy + name, text)) << name;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  return text;
}

// libopendkim signs with a PEM key: the raw RFC 8032 seed (base64) as PKCS#8.
std::string ed25519Pem(const std::string& seed_base64) {
  unsigned char seed[48] = {};
  const int length =
      EVP_DecodeBlock(seed, reinterpret_cast<const unsigned char*>(seed_base64.data()),
                      static_cast<int>(seed_base64.size()));
  if (length < 32) return {};
  std::string der("\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20", 16);
  der.append(reinterpret_cast<const char*>(seed), 32);
  unsigned char encoded[128] = {};
  const int size = EVP_EncodeBlock(encoded, reinterpret_cast<const unsigned char*>(der.data()),
                                   static_cast<int>(der.size()));
  return "-----BEGIN PRIVATE KEY-----\n" +
         std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(size)) +
         "\n-----END PRIVATE KEY-----\n";
}

// libopendkim's signer, for the round trips. Returns the signed message, or nullopt.
std::optional<std::string> sign(const std::string& message, const std::string& key,
                                const char* selector, const char* domain, dkim_alg_t alg) {
  static DKIM_LIB* const lib = dkim_init(nullptr, nullptr);
  DKIM_STAT status = DKIM_STAT_OK;
  std::string secret = key;
  unsigned char id[] = "test";
  DKIM* dkim = dkim_sign(lib, id, nullptr, reinterpret_cast<unsigned char*>(secret.data()),
                         reinterpret_cast<const unsigned char*>(selector),
                         reinterpret_cast<const unsigned char*>(domain), DKIM_CANON_RELAXED,
                         DKIM_CANON_SIMPLE, alg, -1, &status);
  if (dkim == nullptr) return std::nullopt;
  std::string copy = message;
  auto* data = reinterpret_cast<unsigned char*>(copy.data());
  status = dkim_chunk(dkim, data, copy.size());
  if (status == DKIM_STAT_OK) status = dkim_chunk(dkim, nullptr, 0);
  if (status == DKIM_STAT_OK) status = dkim_eom(dkim, nullptr);
  unsigned char* header = nullptr;
  size_t length = 0;
  const std::string name = "DKIM-Signature: ";
  if (status == DKIM_STAT_OK) status = dkim_getsighdr_d(dkim, name.size(), &header, &length);
  std::optional<std::string> out;
  if (status == DKIM_STAT_OK) {
    out = toCrlf(name + std::string(reinterpret_cast<char*>(header), length) + "\n") + message;
  }
  dkim_free(dkim);
  return out;
}

class DkimVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = event_base_new();
    dns_ = std::make_unique<FakeDns>(base_);
    offload_ = std::make_unique<test::ThreadOffload>(base_);
  }
  void TearDown() override {
    offload_.reset();
    dns_.reset();
    event_base_free(base_);
  }

  void skipWithoutData(const std::string& dir) {
    if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "test data not found: " << dir;
  }

  // Loads a "name value" file (KEYS.txt, FAKE_DNS.dat) into the fake DNS.
  void loadKeys(const std::string& path) {
    std::string text;
    ASSERT_TRUE(readFile(path, text)) << path;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] == '#') continue;
      const std::size_t space = line.find_first_of(" \t");
      if (space == std::string::npos) continue;
      const std::string name = line.substr(0, space);
      std::string value = line.substr(line.find_first_not_of(" \t", space));
      while (!value.empty() && (value.back() == ' ' || value.back() == '\r'))
        value.pop_back();
      if (value == "NXDOMAIN") continue;  // a name without records is NXDOMAIN
      if (value == "~~Query timed out~~") {
        dns_->fail(name, dns::Type::TXT, dns::Status::Timeout);
      } else if (value == "~~SERVFAIL~~") {
        dns_->fail(name, dns::Type::TXT, dns::Status::ServFail);
      } else {
        dns_->add(name, dns::Type::TXT, value == "\"\"" ? "" : value);
      }
    }
  }

  std::vector<DkimSignatureOutcome> verify(const std::string& message, DkimOptions options = {}) {
    std::optional<std::vector<DkimSignatureOutcome>> result;
    auto pending = verifyDkim(
        *dns_, offload_->offload(), message, options,
        [&](std::vector<DkimSignatureOutcome> outcomes) { result = std::move(outcomes); });
    EXPECT_TRUE(test::runUntil(base_, [&] { return result.has_value(); }));
    return result.value_or(std::vector<DkimSignatureOutcome>{});
  }

  event_base* base_ = nullptr;
  std::unique_ptr<FakeDns> dns_;
  std::unique_ptr<test::ThreadOffload> offload_;
};

std::string describe(const std::vector<DkimSignatureOutcome>& outcomes) {
  std::string text;
  for (const auto& outcome : outcomes) {
    text += std::string(dkimResultName(outcome.result)) + " (d=" + outcome.domain +
            " s=" + outcome.selector + " a=" + outcome.algorithm + ": " + outcome.detail + ") ";
  }
  return text.empty() ? "no signature" : text;
}

// ---- dkimpy -------------------------------------------------------------------------------

class DkimpyTest : public DkimVerifyTest {
 protected:
  void SetUp() override {
    DkimVerifyTest::SetUp();
    skipWithoutData(kDkimpy);
  }

  // One vector: counts it, and reports it when it is not as expected.
  void expect(const std::string& name, const std::vector<DkimSignatureOutcome>& outcomes,
              const std::vector<DkimResult>& wanted) {
    ++total_;
    std::vector<DkimResult> got;
    for (const auto& outcome : outcomes)
      got.push_back(outcome.result);
    if (got == wanted) {
      ++good_;
    } else {
      ADD_FAILURE() << name << ": " << describe(outcomes);
    }
  }

  // Signs `message_file` with the RSA test key, publishes `record` and verifies.
  std::vector<DkimSignatureOutcome> rsaRoundTrip(const std::string& message_file,
                                                 const std::string& record_file) {
    const std::string message = toCrlf(dkimpyFile(message_file) + "\n");
    const auto signed_message =
        sign(message, dkimpyFile("test.private"), "test", "example.com", DKIM_SIGN_RSASHA256);
    EXPECT_TRUE(signed_message.has_value()) << message_file;
    dns_ = std::make_unique<FakeDns>(base_);
    dns_->add("test._domainkey.example.com", dns::Type::TXT, dkimpyFile(record_file));
    return verify(signed_message.value_or(message));
  }

  void TearDown() override {
    if (total_ > 0) std::printf("dkimpy vectors: %d/%d as expected\n", good_, total_);
    DkimVerifyTest::TearDown();
  }

  int total_ = 0;
  int good_ = 0;
};

TEST_F(DkimpyTest, PublishedSignaturesVerify) {
  loadKeys(kDkimpy + "KEYS.txt");
  const auto both = verify(toCrlf(dkimpyFile("rfc6376.signed.msg") + "\n"));
  expect("rfc6376.signed.msg", both, {DkimResult::Pass, DkimResult::Pass});
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(both[1].algorithm, "rsa-sha256");
  EXPECT_EQ(both[0].domain, "football.example.com");
  EXPECT_EQ(both[0].header_b.size(), 8u);
  expect("test2.message (gmail, degenerate folding)",
         verify(toCrlf(dkimpyFile("test2.message") + "\n")), {DkimResult::Pass});
  expect("ed25519test2.msg (exim)", verify(toCrlf(dkimpyFile("ed25519test2.msg") + "\n")),
         {DkimResult::Pass});
}

TEST_F(DkimpyTest, RsaRoundTrips) {
  for (const char* message : {"test.message", "test_extra.message"}) {
    expect(std::string(message) + " + test.txt", rsaRoundTrip(message, "test.txt"),
           {DkimResult::Pass});
  }
  // message.mbox carries kitterman.com's own signature, whose key is not published here.
  expect("message.mbox + test.txt", rsaRoundTrip("message.mbox", "test.txt"),
         {DkimResult::Pass, DkimResult::PermError});
  expect("test.message + test2.txt (no k=)", rsaRoundTrip("test.message", "test2.txt"),
         {DkimResult::Pass});
  const auto bad = rsaRoundTrip("test.message", "test_bad.txt");
  ASSERT_EQ(bad.size(), 1u);
  ++total_;
  if (bad[0].result != DkimResult::Pass) ++good_;  // fail or permerror: both "invalid"
  EXPECT_NE(bad[0].result, DkimResult::Pass) << describe(bad);
  expect("badk.txt", rsaRoundTrip("test.message", "badk.txt"), {DkimResult::PermError});
  expect("badversion.txt", rsaRoundTrip("test.message", "badversion.txt"), {DkimResult::PermError});
  expect("test_tlsrpt.txt", rsaRoundTrip("test.message", "test_tlsrpt.txt"),
         {DkimResult::PermError});
}

TEST_F(DkimpyTest, Ed25519RoundTrips) {
  const std::string message = toCrlf(dkimpyFile("ed25519test.msg") + "\n");
  const auto signed_message = sign(message, ed25519Pem(dkimpyFile("ed25519test.key")), "test",
                                   "example.net", DKIM_SIGN_ED25519SHA256);
  ASSERT_TRUE(signed_message.has_value());
  dns_->add("test._domainkey.example.net", dns::Type::TXT, dkimpyFile("ed25519test.dns"));
  expect("ed25519test.msg round trip", verify(*signed_message), {DkimResult::Pass});

  // RFC 8463 Appendix A: the RFC 8032 7.1 key as s=brisbane.
  const std::string rfc = toCrlf(dkimpyFile("rfc6376.msg") + "\n");
  const auto signed_rfc = sign(rfc, ed25519Pem(dkimpyFile("rfc8032_7_1.key")), "brisbane",
                               "football.example.com", DKIM_SIGN_ED25519SHA256);
  ASSERT_TRUE(signed_rfc.has_value());
  loadKeys(kDkimpy + "KEYS.txt");
  expect("rfc6376.msg round trip (brisbane)", verify(*signed_rfc), {DkimResult::Pass});
  // And the same signature over a changed body must not pass.
  std::string tampered = *signed_rfc;
  tampered.replace(tampered.rfind("Joe."), 4, "Joe!");
  expect("rfc6376.msg tampered body", verify(tampered), {DkimResult::Fail});
}

TEST_F(DkimpyTest, MessageWithoutFromDoesNotPass) {
  const std::string nofrom = toCrlf(dkimpyFile("test_nofrom.message") + "\n");
  EXPECT_FALSE(sign(nofrom, dkimpyFile("test.private"), "test", "example.com", DKIM_SIGN_RSASHA256))
      << "libopendkim signs without From";
  // A signature taken from a signed message, put over the From-less one.
  const auto signed_message =
      sign(toCrlf(dkimpyFile("test.message") + "\n"), dkimpyFile("test.private"), "test",
           "example.com", DKIM_SIGN_RSASHA256);
  ASSERT_TRUE(signed_message.has_value());
  std::size_t end = signed_message->find("\r\n");
  while (end != std::string::npos && (*signed_message)[end + 2] == '\t') {
    end = signed_message->find("\r\n", end + 2);
  }
  ASSERT_NE(end, std::string::npos);
  dns_->add("test._domainkey.example.com", dns::Type::TXT, dkimpyFile("test.txt"));
  const auto outcomes = verify(signed_message->substr(0, end + 2) + nofrom);
  ASSERT_EQ(outcomes.size(), 1u);
  ++total_;
  if (outcomes[0].result != DkimResult::Pass) ++good_;
  EXPECT_NE(outcomes[0].result, DkimResult::Pass) << describe(outcomes);
}

// ---- Mail::DKIM's verifier corpus ----------------------------------------------------------

// Mail::DKIM's single result: pass if a signature passes, else fail if one fails, else invalid.
std::string messageResult(const std::vector<DkimSignatureOutcome>& outcomes) {
  if (outcomes.empty()) return "none";
  auto any = [&](DkimResult result) {
    return std::any_of(outcomes.begin(), outcomes.end(),
                       [&](const auto& outcome) { return outcome.result == result; });
  };
  if (any(DkimResult::Pass)) return "pass";
  if (any(DkimResult::Fail)) return "fail";
  return "invalid";
}

// Known differences (kind DKIM): Mail::DKIM still applies RFC 4871's key g= tag, which RFC 6376
// removed (its Appendix C); libopendkim 2.11 ignores g= as an unknown tag, so these signatures,
// cryptographically good, pass. They are not RFC 6376 cases and are left out of the 95% goal. An
// entry that stops differing fails the test, so the list stays true.
const std::map<std::string, std::string> kKnownDifferences = {
    {"badkey_8.txt", "g=*poe does not match i= (RFC 4871 only)"},
    {"badkey_9.txt", "empty g= matches no i= (RFC 4871 only)"},
    {"badkey_12.txt", "g= differs from i= by case (RFC 4871 only)"},
    {"badkey_13.txt", "g= matches From, not i= (RFC 4871 only)"},
};

TEST_F(DkimVerifyTest, MailDkimCorpus) {
  skipWithoutData(kMailDkim);
  loadKeys(kMailDkim + "FAKE_DNS.dat");
  std::string table;
  ASSERT_TRUE(readFile(kMailDkim + "EXPECTED.tsv", table));
  DkimOptions options;
  // The corpus predates RFC 8301: most of it is rsa-sha1 with 512-bit keys. Replaying it
  // checks the verification itself; the RFC 8301 rules have their own tests below.
  options.min_key_bits = 512;
  options.accept_rsa_sha1 = true;
  int dkim_total = 0, dkim_agree = 0, other = 0;
  std::istringstream rows(table);
  std::string row;
  while (std::getline(rows, row)) {
    if (row.empty() || row[0] == '#') continue;
    std::istringstream fields(row);
    std::string file, expected, kind, note;
    std::getline(fields, file, '\t');
    std::getline(fields, expected, '\t');
    std::getline(fields, kind, '\t');
    std::getline(fields, note, '\t');
    std::string message;
    ASSERT_TRUE(readFile(kMailDkim + "corpus/" + file, message)) << file;
    const auto outcomes = verify(toCrlf(message), options);
    const std::string got = messageResult(outcomes);
    std::printf("mail-dkim %-24s %-28s expected %-7s got %-7s %s\n", file.c_str(), kind.c_str(),
                expected.c_str(), got.c_str(), describe(outcomes).c_str());
    if (kind == "DKIM") {
      ++dkim_total;
      const bool agree = got == expected;
      if (agree) ++dkim_agree;
      const bool known = kKnownDifferences.count(file) != 0;
      EXPECT_EQ(agree, !known) << file << " (" << note << "): " << describe(outcomes);
    } else if (kind.rfind("DK", 0) == 0 && kind.rfind("DKIM", 0) != 0) {
      ++other;
      EXPECT_TRUE(outcomes.empty()) << file << ": DomainKeys only, " << describe(outcomes);
    } else {
      // Draft-era signatures: RFC 6376 3.5 requires v=1, so those without are permerror; only
      // multiple_2 also carries a v=1 signature, which passes.
      ++other;
      const std::string wanted = kind.find("v=1") != std::string::npos ? "pass" : "invalid";
      EXPECT_EQ(got, wanted) << file << " (" << kind << "): " << describe(outcomes);
    }
  }
  std::printf("mail-dkim: %d/%d DKIM-kind cases as Mail::DKIM (%.1f%%)\n", dkim_agree, dkim_total,
              dkim_total > 0 ? 100.0 * dkim_agree / dkim_total : 0.0);
  const int rfc6376_total = dkim_total - static_cast<int>(kKnownDifferences.size());
  std::printf("mail-dkim: %d/%d RFC 6376 cases (known differences left out); %d other rows\n",
              dkim_agree, rfc6376_total, other);
  EXPECT_GE(dkim_agree * 100, rfc6376_total * 95);
}

// ---- RFC 8301 rules, isolation, async contract ----------------------------------------------

class DkimRulesTest : public DkimVerifyTest {
 protected:
  void SetUp() override {
    DkimVerifyTest::SetUp();
    skipWithoutData(kDkimpy);
  }
  // The RFC 8463 example: ed25519 (s=brisbane) then rsa-sha256 (s=test).
  std::string rfc8463() { return toCrlf(dkimpyFile("rfc6376.signed.msg") + "\n"); }
  void publish(const char* selector) {
    const std::string name = std::string(selector) + "._domainkey.football.example.com";
    std::string keys;
    ASSERT_TRUE(readFile(kDkimpy + "KEYS.txt", keys));
    const std::size_t at = keys.find(name + " ");
    ASSERT_NE(at, std::string::npos);
    const std::size_t end = keys.find('\n', at);
    dns_->add(name, dns::Type::TXT, keys.substr(at + name.size() + 1, end - at - name.size() - 1));
  }
};

TEST_F(DkimRulesTest, RsaSha1FailsUnlessAccepted) {
  const auto signed_message =
      sign(toCrlf(dkimpyFile("test.message") + "\n"), dkimpyFile("test.private"), "test",
           "example.com", DKIM_SIGN_RSASHA1);
  ASSERT_TRUE(signed_message.has_value());
  dns_->add("test._domainkey.example.com", dns::Type::TXT, dkimpyFile("test.txt"));
  const auto outcomes = verify(*signed_message);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].result, DkimResult::Fail);
  EXPECT_EQ(outcomes[0].detail, "rsa-sha1 not accepted");
  EXPECT_EQ(offload_->jobs, 0) << "nothing left to verify";
  DkimOptions legacy;
  legacy.accept_rsa_sha1 = true;  // the same signature is good: the rule made it fail
  EXPECT_EQ(verify(*signed_message, legacy).at(0).result, DkimResult::Pass);
}

TEST_F(DkimRulesTest, ShortRsaKeyFails) {
  skipWithoutData(kMailDkim);
  loadKeys(kMailDkim + "FAKE_DNS.dat");
  std::string message;
  ASSERT_TRUE(readFile(kMailDkim + "corpus/goodkey_1.txt", message));  // a 512-bit key
  DkimOptions options;
  options.accept_rsa_sha1 = true;
  const auto outcomes = verify(toCrlf(message), options);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].result, DkimResult::Fail);
  EXPECT_EQ(outcomes[0].detail, "key too short (512 bits)");
  options.min_key_bits = 512;
  EXPECT_EQ(verify(toCrlf(message), options).at(0).result, DkimResult::Pass);
}

TEST_F(DkimRulesTest, KeyTimeoutFailsOnlyItsSignature) {
  publish("brisbane");
  dns_->fail("test._domainkey.football.example.com", dns::Type::TXT, dns::Status::Timeout);
  const auto outcomes = verify(rfc8463());
  ASSERT_EQ(outcomes.size(), 2u) << describe(outcomes);
  EXPECT_EQ(outcomes[0].result, DkimResult::Pass) << describe(outcomes);
  EXPECT_EQ(outcomes[1].result, DkimResult::TempError) << describe(outcomes);
  EXPECT_NE(outcomes[1].detail.find("timeout"), std::string::npos);
  ASSERT_FALSE(offload_->worker_ids.empty());
  EXPECT_NE(offload_->worker_ids[0], std::this_thread::get_id());
}

TEST_F(DkimRulesTest, MissingKeyIsPermerrorForItsSignatureOnly) {
  publish("test");  // brisbane: NXDOMAIN
  const auto outcomes = verify(rfc8463());
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].result, DkimResult::PermError) << describe(outcomes);
  EXPECT_EQ(outcomes[1].result, DkimResult::Pass) << describe(outcomes);
  EXPECT_EQ(dns_->queries().size(), 2u) << "both keys asked, in parallel";
}

TEST_F(DkimRulesTest, RefusedOffloadIsTemperror) {
  publish("brisbane");
  publish("test");
  offload_->refuse = true;
  const auto outcomes = verify(rfc8463());
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].result, DkimResult::TempError);
  EXPECT_EQ(outcomes[1].result, DkimResult::TempError);
}

TEST_F(DkimRulesTest, NoSignatureAnswersInlineWithNothing) {
  bool called = false;
  auto pending = verifyDkim(*dns_, offload_->offload(), toCrlf(dkimpyFile("rfc6376.msg") + "\n"),
                            {}, [&](std::vector<DkimSignatureOutcome> outcomes) {
                              called = true;
                              EXPECT_TRUE(outcomes.empty());
                            });
  EXPECT_TRUE(called);
  EXPECT_EQ(pending, nullptr);
}

TEST_F(DkimRulesTest, DestroyingTheHandleCancels) {
  publish("brisbane");
  publish("test");
  int calls = 0;
  auto pending = verifyDkim(*dns_, offload_->offload(), rfc8463(), {},
                            [&](std::vector<DkimSignatureOutcome>) { ++calls; });
  ASSERT_NE(pending, nullptr);
  EXPECT_EQ(calls, 0) << "never inline when there are keys to fetch";
  pending.reset();
  test::runFor(base_, std::chrono::milliseconds(100));
  EXPECT_EQ(calls, 0);
}

// `count` more DKIM-Signature fields after the two of rfc8463(), folded, each with its own l=
// (so its own body hash, were libopendkim to see it).
std::string withExtraSignatures(std::string message, int count) {
  std::string extra;
  for (int i = 1; i <= count; ++i) {
    extra +=
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
        "\td=football.example.com; s=test; h=from; l=" +
        std::to_string(i) +
        ";\r\n"
        "\tbh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=;\r\n"
        "\tb=ZXh0cmE" +
        std::to_string(i) + "\r\n";
  }
  message.insert(message.find("From: Joe"), extra);
  return message;
}

TEST_F(DkimRulesTest, SignaturesPastTheLimitNeverReachTheVerifier) {
  publish("brisbane");
  publish("test");
  const std::string message = withExtraSignatures(rfc8463(), 200);
  DkimOptions options;
  options.max_signatures = 2;
  DkimLibraryStats before = dkimLibraryStats();
  const auto two = verify(message, options);
  ASSERT_EQ(two.size(), 2u) << describe(two);
  EXPECT_EQ(two[0].result, DkimResult::Pass) << describe(two);
  EXPECT_EQ(two[1].result, DkimResult::Pass) << "folded lines of the dropped fields are gone";
  EXPECT_EQ(dkimLibraryStats().verifications - before.verifications, 1u);
  EXPECT_EQ(dkimLibraryStats().signatures - before.signatures, 2u)
      << "libopendkim found the dropped signatures";

  options.max_signatures = 3;  // the limit counts in header order: the first extra comes in
  before = dkimLibraryStats();
  const auto three = verify(message, options);
  ASSERT_EQ(three.size(), 3u) << describe(three);
  EXPECT_EQ(three[1].result, DkimResult::Pass) << describe(three);
  EXPECT_EQ(three[2].result, DkimResult::Fail) << describe(three);
  EXPECT_EQ(dkimLibraryStats().signatures - before.signatures, 3u);
}

// Takes every job and runs it only when told, on the test thread: a queue whose workers are
// all busy.
struct QueuedOffload {
  std::vector<std::pair<std::function<void()>, std::function<void()>>> jobs;
  DkimOffload offload() {
    return [this](std::function<void()> work, std::function<void()> done) {
      jobs.emplace_back(std::move(work), std::move(done));
      return true;
    };
  }
  void runAll() {
    for (auto& [work, done] : jobs) {
      work();
      done();
    }
    jobs.clear();
  }
};

TEST_F(DkimRulesTest, QueuedJobOfADestroyedHandleSkipsTheVerifier) {
  publish("brisbane");
  publish("test");
  QueuedOffload queue;
  for (const bool destroy : {false, true}) {
    SCOPED_TRACE(destroy ? "handle destroyed" : "handle kept");
    int calls = 0;
    auto pending = verifyDkim(*dns_, queue.offload(), rfc8463(), {},
                              [&](std::vector<DkimSignatureOutcome>) { ++calls; });
    ASSERT_NE(pending, nullptr);
    ASSERT_TRUE(test::runUntil(base_, [&] { return queue.jobs.size() == 1; }));
    const DkimLibraryStats before = dkimLibraryStats();
    if (destroy) pending.reset();
    queue.runAll();
    EXPECT_EQ(dkimLibraryStats().verifications - before.verifications, destroy ? 0u : 1u);
    EXPECT_EQ(dkimLibraryStats().signatures - before.signatures, destroy ? 0u : 2u);
    EXPECT_EQ(calls, destroy ? 0 : 1);
  }
}

}  // namespace
}  // namespace spamgate::auth
