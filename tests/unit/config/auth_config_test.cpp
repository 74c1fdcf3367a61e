// Config of sender authentication: [spf], [dkim], [dmarc] and [server] authserv_id. Defaults,
// every key, and errors with their "FILE:LINE: key 'K': reason".
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"

namespace spamgate::config {
namespace {

std::string errorOf(const std::string& text) {
  try {
    parse(text, "t.toml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(AuthConfigDefaults, MatchTheDocumentedValues) {
  const Snapshot c = parse("[server]\nhostname = \"mx.example.net\"\n", "t.toml");
  EXPECT_EQ(c->server.authserv_id, "mx.example.net") << "defaults to the hostname";
  EXPECT_TRUE(c->spf.enabled);
  EXPECT_EQ(c->spf.fail_action, FailAction::Reject);
  EXPECT_EQ(c->spf.permerror_action, FailAction::Score);
  EXPECT_TRUE(c->spf.tempfail_on_error);
  EXPECT_EQ(c->spf.reject_at, SpfRejectAt::Mail);
  EXPECT_DOUBLE_EQ(c->spf.fail_score, 5);
  EXPECT_DOUBLE_EQ(c->spf.softfail_score, 2);
  EXPECT_TRUE(c->dkim.enabled);
  EXPECT_EQ(c->dkim.min_key_bits, 1024u);
  EXPECT_TRUE(c->dmarc.enabled);
  EXPECT_EQ(c->dmarc.reject_action, FailAction::Reject);
  EXPECT_TRUE(c->dmarc.tempfail_on_error);
  EXPECT_DOUBLE_EQ(c->dmarc.quarantine_score, 5);
  EXPECT_EQ(defaults()->server.authserv_id, defaults()->server.hostname);
}

TEST(AuthConfigParse, EveryKey) {
  const Snapshot c = parse(R"([server]
hostname = "mx.example.net"
authserv_id = "auth.example.net"
[spf]
enabled = false
fail_action = "score"
permerror_action = "reject"
tempfail_on_error = false
reject_at = "rcpt"
pass_score = -1
fail_score = 6
softfail_score = 2.5
neutral_score = 0.5
none_score = 0.25
temperror_score = 1.5
permerror_score = 3
[dkim]
enabled = false
min_key_bits = 2048
max_signatures = 4
pass_score = -0.5
fail_score = 2
temperror_score = 0.1
permerror_score = 0.2
[dmarc]
enabled = false
reject_action = "score"
tempfail_on_error = false
reject_score = 12
quarantine_score = 6
none_fail_score = 1.5
missing_from_score = 4
multiple_from_score = 7
)",
                           "t.toml");
  EXPECT_EQ(c->server.authserv_id, "auth.example.net");
  const Spf& spf = c->spf;
  EXPECT_FALSE(spf.enabled);
  EXPECT_EQ(spf.fail_action, FailAction::Score);
  EXPECT_EQ(spf.permerror_action, FailAction::Reject);
  EXPECT_FALSE(spf.tempfail_on_error);
  EXPECT_EQ(spf.reject_at, SpfRejectAt::Rcpt);
  EXPECT_DOUBLE_EQ(spf.pass_score, -1);
  EXPECT_DOUBLE_EQ(spf.fail_score, 6);
  EXPECT_DOUBLE_EQ(spf.softfail_score, 2.5);
  EXPECT_DOUBLE_EQ(spf.neutral_score, 0.5);
  EXPECT_DOUBLE_EQ(spf.none_score, 0.25);
  EXPECT_DOUBLE_EQ(spf.temperror_score, 1.5);
  EXPECT_DOUBLE_EQ(spf.permerror_score, 3);
  const Dkim& dkim = c->dkim;
  EXPECT_FALSE(dkim.enabled);
  EXPECT_EQ(dkim.min_key_bits, 2048u);
  EXPECT_EQ(dkim.max_signatures, 4u);
  EXPECT_DOUBLE_EQ(dkim.pass_score, -0.5);
  EXPECT_DOUBLE_EQ(dkim.fail_score, 2);
  EXPECT_DOUBLE_EQ(dkim.temperror_score, 0.1);
  EXPECT_DOUBLE_EQ(dkim.permerror_score, 0.2);
  const Dmarc& dmarc = c->dmarc;
  EXPECT_FALSE(dmarc.enabled);
  EXPECT_EQ(dmarc.reject_action, FailAction::Score);
  EXPECT_FALSE(dmarc.tempfail_on_error);
  EXPECT_DOUBLE_EQ(dmarc.reject_score, 12);
  EXPECT_DOUBLE_EQ(dmarc.quarantine_score, 6);
  EXPECT_DOUBLE_EQ(dmarc.none_fail_score, 1.5);
  EXPECT_DOUBLE_EQ(dmarc.missing_from_score, 4);
  EXPECT_DOUBLE_EQ(dmarc.multiple_from_score, 7);
}

TEST(PolicyAndRulesConfig, KeysAndDefaults) {
  const Snapshot d = parse("", "t.toml");
  EXPECT_FALSE(d->policy.tempfail_score.has_value());
  EXPECT_EQ(d->policy.subject_prefix, "");
  EXPECT_TRUE(d->policy.clean_status);
  EXPECT_TRUE(d->rules.paths.empty());
  const Snapshot c = parse(R"([policy]
tag_score = 4
reject_score = 12
tempfail_score = 8
subject_prefix = "[SPAM]"
clean_status = false
[rules]
paths = ["rules", "/etc/spamgate/local.cf"]
match_limit = 5000
depth_limit = 500
skip_bad_regex = true
)",
                           "t.toml");
  EXPECT_EQ(c->policy.tempfail_score, 8.0);
  EXPECT_EQ(c->policy.subject_prefix, "[SPAM]");
  EXPECT_FALSE(c->policy.clean_status);
  EXPECT_EQ(c->rules.paths, (std::vector<std::string>{"rules", "/etc/spamgate/local.cf"}));
  EXPECT_EQ(c->rules.match_limit, 5000u);
  EXPECT_EQ(c->rules.depth_limit, 500u);
  EXPECT_TRUE(c->rules.skip_bad_regex);
  EXPECT_FALSE(d->rules.skip_bad_regex);
  EXPECT_EQ(errorOf("[policy]\ntempfail_score = 20\n"),
            "t.toml:2: key 'policy.tempfail_score': must be between tag_score and reject_score");
  EXPECT_EQ(errorOf("[policy]\nsubject_prefix = \"a\\nb\"\n"),
            "t.toml:2: key 'policy.subject_prefix': must not contain control characters");
  EXPECT_EQ(errorOf("[rules]\npath = []\n"), "t.toml:2: key 'rules.path': unknown key");
}

TEST(AuthConfigErrors, DmarcNeedsSpfAndDkim) {
  EXPECT_EQ(errorOf("[dkim]\nenabled = false\n"),
            "t.toml:2: key 'dkim.enabled': DMARC needs both SPF and DKIM: enable dkim or set "
            "dmarc.enabled = false");
  EXPECT_EQ(errorOf("[spf]\nenabled = false\n"),
            "t.toml:2: key 'spf.enabled': DMARC needs both SPF and DKIM: enable spf or set "
            "dmarc.enabled = false");
  EXPECT_EQ(errorOf("[spf]\nenabled = false\n[dmarc]\nenabled = false\n"), "(no error)");
}

TEST(AuthConfigErrors, NameFileLineAndKey) {
  EXPECT_EQ(errorOf("[spf]\nfail_action = \"drop\"\n"),
            "t.toml:2: key 'spf.fail_action': must be one of \"reject\", \"score\", not \"drop\"");
  EXPECT_EQ(errorOf("[spf]\nreject_at = \"data\"\n"),
            "t.toml:2: key 'spf.reject_at': must be one of \"mail\", \"rcpt\", not \"data\"");
  EXPECT_EQ(
      errorOf("[dmarc]\nreject_action = \"tag\"\n"),
      "t.toml:2: key 'dmarc.reject_action': must be one of \"reject\", \"score\", not \"tag\"");
  EXPECT_EQ(errorOf("[dkim]\nmin_key_bits = 256\n").rfind("t.toml:2: key 'dkim.min_key_bits':", 0),
            0u);
  EXPECT_EQ(errorOf("[dkim]\nverify = true\n"), "t.toml:2: key 'dkim.verify': unknown key");
  EXPECT_EQ(errorOf("[spf]\nfail_score = \"high\"\n"),
            "t.toml:2: key 'spf.fail_score': expected a number, got a string");
  EXPECT_EQ(errorOf("[server]\nauthserv_id = \"bad id\"\n")
                .rfind("t.toml:2: key 'server.authserv_id':", 0),
            0u);
}

}  // namespace
}  // namespace spamgate::config
