"""Sender authentication in `spamgate serve`, end to end: SPF at MAIL FROM, DKIM and DMARC at
end of data, and the Authentication-Results header the backend receives. A real nsd on loopback
serves the test domains; DKIM keys are made by opendkim-genkey and messages signed with
libopendkim by tests/tools/dkim_sign (rsa-sha256; opendkim-testmsg signs with rsa-sha1, which
RFC 8301 fails) in the test; smtp-sink is the backend.

Domains (zone auth.test, client 127.0.0.1):
- signed.auth.test   SPF pass for 127.0.0.0/8, DKIM key sel._domainkey, DMARC p=reject
- forged.auth.test   DMARC p=reject, SPF -all: nobody may use it in From
- quar.auth.test     DMARC p=quarantine, no SPF
- relaxed.auth.test  SPF pass for 127.0.0.0/8; same organizational domain (auth.test) as the
                     others, so it aligns with them in relaxed mode
- fail.auth.test     SPF "-all" (every client fails)
- soft.auth.test     SPF "~all"
Zone sender.test: SPF pass for 127.0.0.0/8, another organizational domain: an envelope sender
that never aligns with a From domain in auth.test.
"""

import os
import re
import shutil
import subprocess
import time
import unittest

import harness as h

ZONE = "auth.test"
SOA = ("$TTL 60\n@ IN SOA ns.auth.test. hostmaster.auth.test. 1 3600 600 86400 60\n"
       "@ IN NS ns.auth.test.\nns IN A 127.0.0.1\n")
RECORDS = """\
signed IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
_dmarc.signed IN TXT "v=DMARC1; p=reject"
forged IN TXT "v=spf1 -all"
_dmarc.forged IN TXT "v=DMARC1; p=reject"
_dmarc.quar IN TXT "v=DMARC1; p=quarantine"
relaxed IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
fail IN TXT "v=spf1 -all"
soft IN TXT "v=spf1 ~all"
"""
QUIET_POLICY = {"tag_score": 50, "reject_score": 100}

_module = {}


def dkim_key(directory):
    """A fresh 2048-bit RSA key: (private key path, zone record for sel._domainkey.signed)."""
    subprocess.run([_tool("opendkim-genkey"), "-b", "2048", "-d", "signed.auth.test", "-s", "sel",
                    "-D", directory], check=True, capture_output=True, timeout=60)
    with open(os.path.join(directory, "sel.txt")) as f:
        text = f.read()
    # "sel._domainkey IN TXT ( "v=DKIM1; ..." "p=..." )  ; comment": keep the strings.
    strings = re.findall(r'"[^"]*"', text.split(";  -----")[0])
    return os.path.join(directory, "sel.private"), "sel._domainkey.signed IN TXT ( %s )\n" % (
        " ".join(strings))


def setUpModule():
    for tool in ("opendkim-genkey", "nsd"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            _module["skip"] = "%s not installed (contrib/install-deps.sh installs it)" % tool
            return
    if not os.path.exists(os.environ.get("SPAMGATE_DKIM_SIGN", "")):
        _module["skip"] = "SPAMGATE_DKIM_SIGN (tests/tools/dkim_sign) not set: run through ctest"
        return
    directory = h.new_tempdir(unittest.addModuleCleanup)
    key, key_record = dkim_key(directory)
    _module["key"] = key
    _module["nsd"] = h.start_nsd(unittest.addModuleCleanup, directory,
                                 {ZONE: SOA + RECORDS + key_record,
                                  "sender.test": SOA + '@ IN TXT "v=spf1 ip4:127.0.0.0/8 -all"\n'})


def sign(message):
    """`message` (CRLF bytes) signed for signed.auth.test, selector sel (rsa-sha256)."""
    run = subprocess.run([os.environ["SPAMGATE_DKIM_SIGN"], "signed.auth.test", "sel",
                          _module["key"]], input=message, capture_output=True, timeout=30)
    if run.returncode != 0:
        raise AssertionError("dkim_sign failed: %r" % run.stderr)
    return run.stdout


def _tool(name):
    return shutil.which(name) or "/usr/sbin/" + name


def auth_message(message_id, sender, extra=b"", body=b"Hello from the test.\r\n"):
    return (b"From: <" + sender.encode() + b">\r\nTo: rcpt@example.com\r\nSubject: auth test"
            b"\r\nMessage-ID: <" + message_id.encode() + b">\r\n" + extra + b"\r\n" + body)


def header_values(message, name):
    """Unfolded values of every `name:` field of an LF message (as smtp-sink writes it)."""
    head = message.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    fields = re.split(r"\n(?![ \t])", head)
    prefix = name.lower() + ":"
    return [re.sub(r"\s+", " ", f[len(prefix):]).strip()
            for f in fields if f.lower().startswith(prefix)]


def names(decision):
    return [s["name"] for s in decision["symbols"]]


class SenderAuthTest(h.GatewayTestCase):
    def setUp(self):
        if "skip" in _module:
            raise unittest.SkipTest(_module["skip"])
        self.nsd = _module["nsd"]

    def gateway(self, **sections):
        overrides = {
            "policy": QUIET_POLICY,
            "dns": {"nameservers": [self.nsd.address], "timeout": 2.0, "retries": 0},
            "spf": {"enabled": True},
            "dkim": {"enabled": True},
            "dmarc": {"enabled": True},
        }
        return self.start_gateway(overrides=h.merge(overrides, sections), tls=False)

    def transaction(self, gateway, mail_from, message):
        """MAIL, RCPT, DATA: returns (mail reply, rcpt reply, final reply or None)."""
        with h.RawClient(gateway.config.port) as c:
            c.greet("client.auth.test")
            mail = c.command("MAIL FROM:<%s>" % mail_from)
            rcpt = final = None
            if mail.code == 250:
                rcpt = c.command("RCPT TO:<rcpt@example.com>")
            if rcpt is not None and rcpt.code == 250:
                c.expect(354, "DATA")
                c.send(h.dot_stuff(message))
                final = c.reply()
            c.command("QUIT")
        return mail, rcpt, final

    def decision(self, gateway, message_id=None):
        found = h.wait_decisions(gateway.config.decisions, lambda d: d.get("event") == "transaction"
                                 and (message_id is None or message_id in d.get("message_id", "")))
        self.assertTrue(found, "no decision in %r" % self.decisions(gateway))
        return found[-1]

    def delivered(self):
        messages = self.sink.wait_messages(1)
        self.assertEqual(len(messages), 1)
        return messages[0].message

    def test_signed_message_arrives_with_dkim_spf_and_dmarc_pass(self):
        gateway = self.gateway()
        message = sign(auth_message("signed-1@auth.test", "alice@signed.auth.test"))
        self.assertIn(b"DKIM-Signature:", message)
        _, _, final = self.transaction(gateway, "alice@signed.auth.test", message)
        self.assertEqual(final.code, 250, final)
        results = header_values(self.delivered(), "Authentication-Results")
        self.assertEqual(len(results), 1, results)
        ar = results[0]
        self.assertTrue(ar.startswith(h.HOSTNAME + ";"), ar)
        self.assertRegex(ar, r"\bdkim=pass\b[^;]*header\.d=signed\.auth\.test")
        self.assertRegex(ar, r"\bspf=pass\b[^;]*smtp\.mailfrom=\S*signed\.auth\.test")
        self.assertRegex(ar, r"\bdmarc=pass\b[^;]*header\.from=signed\.auth\.test")
        d = self.decision(gateway, "signed-1")
        self.assertEqual(d["action"], "accept")
        for symbol in ("SPF_PASS", "DKIM_PASS", "DMARC_PASS"):
            self.assertIn(symbol, names(d))

    def test_altered_signed_message_fails_dkim_but_spf_aligns_dmarc(self):
        gateway = self.gateway()
        message = sign(auth_message("altered-1@auth.test", "alice@signed.auth.test"))
        message = message.replace(b"Hello from the test.", b"Hello from the forger.")
        _, _, final = self.transaction(gateway, "alice@signed.auth.test", message)
        self.assertEqual(final.code, 250, final)
        ar = header_values(self.delivered(), "Authentication-Results")[0]
        self.assertRegex(ar, r"\bdkim=fail\b")
        self.assertRegex(ar, r"\bdmarc=pass\b")
        self.assertIn("DKIM_FAIL", names(self.decision(gateway, "altered-1")))

    def test_forged_from_of_a_reject_domain_is_refused_550_5_7_1(self):
        gateway = self.gateway()
        message = auth_message("forged-1@auth.test", "ceo@forged.auth.test")
        mail, rcpt, final = self.transaction(gateway, "bounce@sender.test", message)
        self.assertEqual(mail.code, 250, mail)
        self.assertEqual(rcpt.code, 250, rcpt)
        self.assertEnhanced(final, 550, "5.7.1")
        self.assertEqual(self.sink.messages(), [])
        d = self.decision(gateway, "forged-1")
        self.assertEqual(d["action"], "reject")
        self.assertIn("DMARC_FAIL_REJECT", names(d))
        self.assertIn(d["id"], final.text, "the reply carries the decision id")

    def test_dmarc_reject_as_score_only_delivers_with_the_symbol(self):
        gateway = self.gateway(dmarc={"reject_action": "score", "reject_score": 3})
        message = auth_message("forged-2@auth.test", "ceo@forged.auth.test")
        _, _, final = self.transaction(gateway, "bounce@sender.test", message)
        self.assertEqual(final.code, 250, final)
        ar = header_values(self.delivered(), "Authentication-Results")[0]
        self.assertRegex(ar, r"\bdmarc=fail\b[^;]*header\.from=forged\.auth\.test")
        d = self.decision(gateway, "forged-2")
        self.assertIn("DMARC_FAIL_REJECT", names(d))
        self.assertEqual(d["action"], "accept")

    def test_relaxed_alignment_passes_within_the_organizational_domain(self):
        gateway = self.gateway()
        message = auth_message("relaxed-1@auth.test", "ceo@forged.auth.test")
        _, _, final = self.transaction(gateway, "bounce@relaxed.auth.test", message)
        self.assertEqual(final.code, 250, final)
        ar = header_values(self.delivered(), "Authentication-Results")[0]
        self.assertRegex(ar, r"\bdmarc=pass\b[^;]*header\.from=forged\.auth\.test")
        self.assertIn("DMARC_PASS", names(self.decision(gateway, "relaxed-1")))

    def test_quarantine_policy_failing_is_tagged(self):
        gateway = self.gateway()
        message = auth_message("quar-1@auth.test", "news@quar.auth.test")
        _, _, final = self.transaction(gateway, "bounce@sender.test", message)
        self.assertEqual(final.code, 250, final)
        delivered = self.delivered()
        self.assertEqual(header_values(delivered, "X-Spam-Flag"), ["YES"])
        d = self.decision(gateway, "quar-1")
        self.assertEqual(d["action"], "tag")
        self.assertIn("DMARC_FAIL_QUARANTINE", names(d))

    def test_spf_fail_is_refused_550_5_7_23_at_mail(self):
        gateway = self.gateway()
        mail, _, _ = self.transaction(gateway, "someone@fail.auth.test",
                                      auth_message("spf-1@auth.test", "someone@fail.auth.test"))
        self.assertEnhanced(mail, 550, "5.7.23")
        self.assertEqual(self.sink.messages(), [])
        d = self.decision(gateway)
        self.assertEqual(d["action"], "reject")
        self.assertIn("SPF_FAIL", names(d))

    def test_spf_fail_refused_at_rcpt_when_configured(self):
        gateway = self.gateway(spf={"reject_at": "rcpt"})
        mail, rcpt, _ = self.transaction(gateway, "someone@fail.auth.test",
                                         auth_message("spf-2@auth.test", "someone@fail.auth.test"))
        self.assertEqual(mail.code, 250, mail)
        self.assertEnhanced(rcpt, 550, "5.7.23")
        d = self.decision(gateway)
        self.assertEqual(d["rcpts"][0]["reply"]["code"], 550)
        self.assertIn("SPF_FAIL", names(d))

    def test_spf_fail_as_score_only_and_softfail_are_delivered(self):
        gateway = self.gateway(spf={"fail_action": "score"}, dmarc={"enabled": False})
        _, _, final = self.transaction(gateway, "someone@fail.auth.test",
                                       auth_message("spf-3@auth.test", "someone@fail.auth.test"))
        self.assertEqual(final.code, 250, final)
        ar = header_values(self.delivered(), "Authentication-Results")[0]
        self.assertRegex(ar, r"\bspf=fail\b")
        self.assertIn("SPF_FAIL", names(self.decision(gateway, "spf-3")))
        _, _, final = self.transaction(gateway, "someone@soft.auth.test",
                                       auth_message("spf-4@auth.test", "someone@soft.auth.test"))
        self.assertEqual(final.code, 250, final)
        self.assertIn("SPF_SOFTFAIL", names(self.decision(gateway, "spf-4")))

    def test_null_sender_checks_the_helo_identity(self):
        gateway = self.gateway(dkim={"enabled": False}, dmarc={"enabled": False})
        with h.RawClient(gateway.config.port) as c:
            c.greet("fail.auth.test")
            mail = c.command("MAIL FROM:<>")
            c.command("QUIT")
        self.assertEnhanced(mail, 550, "5.7.23")

    def test_forged_authentication_results_claiming_our_id_are_removed(self):
        gateway = self.gateway()
        forged = ("Authentication-Results: %s;\r\n\tdkim=pass header.d=forged.auth.test\r\n"
                  "Authentication-Results: other.example; spf=pass\r\n" % h.HOSTNAME).encode()
        message = sign(auth_message("ar-1@auth.test", "alice@signed.auth.test", extra=forged))
        _, _, final = self.transaction(gateway, "alice@signed.auth.test", message)
        self.assertEqual(final.code, 250, final)
        results = header_values(self.delivered(), "Authentication-Results")
        ours = [r for r in results if r.lower().startswith(h.HOSTNAME + ";")]
        self.assertEqual(len(ours), 1, results)
        self.assertNotIn("forged.auth.test", ours[0])
        self.assertIn("other.example; spf=pass", results, "another host's results stay")

    def test_dkim_key_is_fetched_once_the_header_block_is_in(self):
        relay = h.start_dns_relay(self.addCleanup, self.nsd.port)
        gateway = self.gateway(dns={"nameservers": [relay.address]})
        message = sign(auth_message("prefetch-1@auth.test", "alice@signed.auth.test",
                                    body=b"Line one.\r\n" * 50))
        wire = h.dot_stuff(message)
        cut = wire.index(b"\r\n\r\n") + 4 + 100  # the header block and a little of the body
        key = "sel._domainkey.signed.auth.test"
        with h.RawClient(gateway.config.port) as c:
            c.greet("client.auth.test")
            c.expect(250, "MAIL FROM:<alice@signed.auth.test>")
            c.expect(250, "RCPT TO:<rcpt@example.com>")
            c.expect(354, "DATA")
            c.send(wire[:cut])
            deadline = time.monotonic() + h.scaled(5)
            while key not in relay.names() and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertIn(key, relay.names(), "the key was not asked for before the end of data")
            c.send(wire[cut:])
            final = c.reply()
            c.command("QUIT")
        self.assertEqual(final.code, 250, final)
        self.assertEqual(relay.names().count(key), 1, "the check used the prefetched answer")
        ar = header_values(self.delivered(), "Authentication-Results")[0]
        self.assertRegex(ar, r"\bdkim=pass\b")

    def test_a_message_starting_with_a_folded_line_cannot_extend_our_header(self):
        gateway = self.gateway()
        message = (b"\t; dkim=pass header.d=signed.auth.test\r\n" +
                   auth_message("fold-1@auth.test", "ceo@relaxed.auth.test"))
        _, _, final = self.transaction(gateway, "bounce@sender.test", message)
        self.assertEnhanced(final, 550, "5.6.0")
        self.assertEqual(self.sink.messages(), [])
        self.assertEqual(self.decision(gateway)["action"], "reject")

    def test_checks_off_add_no_authentication_results(self):
        gateway = self.gateway(spf={"enabled": False}, dkim={"enabled": False},
                               dmarc={"enabled": False})
        _, _, final = self.transaction(gateway, "alice@signed.auth.test",
                                       auth_message("off-1@auth.test", "alice@signed.auth.test"))
        self.assertEqual(final.code, 250, final)
        self.assertEqual(header_values(self.delivered(), "Authentication-Results"), [])


if __name__ == "__main__":
    unittest.main()
