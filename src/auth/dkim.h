// DKIM verification (RFC 6376, RFC 8301, RFC 8463 ed25519) of every signature of a message,
// with libopendkim doing the canonicalization and the crypto. Asynchronous: the key records
// come from a DnsSource, the CPU work runs off the event loop through an offload.
//
// Steps: find the DKIM-Signature fields (auth/dkim_signature.h; the first max_signatures, the
// others are ignored); look up every distinct `selector._domainkey.domain` TXT in parallel;
// then one libopendkim verification of the message on a worker, which takes the keys from
// those answers only (libopendkim's own resolver never runs). libopendkim sets up a body hash
// for every signature it finds before it can be told to skip one, so it gets a copy of the
// message without the DKIM-Signature fields past max_signatures (whole fields, folded lines
// included): its work stays bounded however many signatures the peer adds. Should it still
// find more than that (a field it splits differently), it stops at the end of the header and
// those signatures are permerror. One outcome per signature, in header order:
//   pass       the signature verifies (rsa-sha256, ed25519-sha256) with a key of at least
//              min_key_bits bits (RSA)
//   fail       it does not verify ("body hash mismatch", "signature mismatch"); rsa-sha1
//              ("rsa-sha1 not accepted", RFC 8301); an RSA key shorter than min_key_bits
//   permerror  broken signature (syntax, v= not 1, unknown a=, expired, ...), no key
//              (NXDOMAIN/NODATA), or a key record that is unusable (revoked, bad syntax,
//              not for email, hash or key type mismatch, t=s with i= in a subdomain)
//   temperror  the key lookup failed (timeout, SERVFAIL, ...), or no worker took the job
// A key lookup problem affects the signatures that use that key only. A message without a
// DKIM-Signature gives an empty vector.
//
// Contract: `done` runs once, on the loop. It runs inline, and verifyDkim() returns null, only
// when there is nothing to look up (no signature, or none well-formed enough to name a key);
// then the message is not copied. Otherwise verifyDkim() keeps the one copy described above,
// so `message` need not outlive the call. Destroying the returned handle cancels: the lookups
// stop, `done` never runs afterwards, and a job still queued for a worker skips libopendkim
// (one already running there finishes and its result is dropped). Expects CRLF line ends, as
// received over SMTP.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dns_source.h"
#include "auth/results.h"

namespace spamgate::auth {

struct DkimOptions {
  unsigned min_key_bits = 1024;     // RFC 8301 section 3.2
  std::size_t max_signatures = 10;  // verified per message
  // RFC 8301 forbids it; true only to replay corpora older than that (tests).
  bool accept_rsa_sha1 = false;
};

// Runs `work` off the loop, then `done` on the loop; false when it cannot take the job. The
// same shape as pipeline::Offload, which converts to it.
using DkimOffload = std::function<bool(std::function<void()> work, std::function<void()> done)>;

using DkimDone = std::function<void(std::vector<DkimSignatureOutcome>)>;

std::unique_ptr<PendingQuery> verifyDkim(DnsSource& dns, const DkimOffload& offload,
                                         std::string_view message, DkimOptions options,
                                         DkimDone done);

// libopendkim's work in this process so far, for metrics and tests: verifications run on a
// worker, and DKIM-Signature fields libopendkim found in the messages it was given.
struct DkimLibraryStats {
  std::uint64_t verifications = 0;
  std::uint64_t signatures = 0;
};
DkimLibraryStats dkimLibraryStats();

}  // namespace spamgate::auth
