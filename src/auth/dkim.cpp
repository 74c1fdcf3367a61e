#include "auth/dkim.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <map>
#include <string_view>
#include <utility>

#include "auth/dkim_signature.h"
#include "auth/opendkim_cxx.h"

namespace spamgate::auth {

namespace {

struct KeyAnswer {
  dns::Status status = dns::Status::Other;
  std::vector<std::string> records;
};

// One message's verification: filled on the loop, read and completed by one worker, read
// again on the loop. Never touched by two threads at once (the offload orders them), but for
// `cancelled`, which the loop sets when the handle goes.
struct Job {
  std::string message;  // what libopendkim reads: verifierCopy()
  std::atomic<bool> cancelled{false};
  bool too_many = false;  // libopendkim found more signatures than `signatures`
  DkimOptions options;
  std::vector<DkimSignature> signatures;
  std::vector<DkimSignatureOutcome> outcomes;  // one per signature
  std::vector<bool> to_verify;                 // left to libopendkim
  std::map<std::string, KeyAnswer> keys;       // by key name
  std::vector<DKIM_SIGINFO*> matched;          // libopendkim's view of each signature
};

std::atomic<std::uint64_t> verifications_run{0};
std::atomic<std::uint64_t> signatures_found{0};

std::string lower(const char* text) {
  std::string out = text != nullptr ? text : "";
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

const char* text(const unsigned char* value) {
  return reinterpret_cast<const char*>(value);
}

std::string keyNameOf(DKIM_SIGINFO* sig) {
  return lower(text(dkim_sig_getselector(sig))) + "._domainkey." +
         lower(text(dkim_sig_getdomain(sig)));
}

// The parsed signature that libopendkim's `sig` is, or -1.
int matchSignature(Job& job, DKIM_SIGINFO* sig) {
  const std::string domain = lower(text(dkim_sig_getdomain(sig)));
  const char* selector = text(dkim_sig_getselector(sig));
  unsigned char b_tag[] = "b";
  const unsigned char* b_value = dkim_sig_gettagvalue(sig, false, b_tag);
  const std::string b = withoutWhitespace(b_value != nullptr ? text(b_value) : "");
  for (std::size_t i = 0; i < job.signatures.size(); ++i) {
    const DkimSignature& candidate = job.signatures[i];
    if (job.matched[i] != nullptr || candidate.domain != domain || selector == nullptr ||
        lower(candidate.selector.c_str()) != lower(selector) || candidate.b != b) {
      continue;
    }
    return static_cast<int>(i);
  }
  return -1;
}

// libopendkim asks for a key: answer from the prefetched records, never from the network.
DKIM_CBSTAT lookupKey(DKIM* dkim, DKIM_SIGINFO* sig, unsigned char* buf, size_t buflen) {
  const auto* job = static_cast<const Job*>(dkim_get_user_context(dkim));
  const auto found = job->keys.find(keyNameOf(sig));
  if (found == job->keys.end() || found->second.status != dns::Status::Ok ||
      found->second.records.empty()) {
    return DKIM_CBSTAT_NOTFOUND;
  }
  const std::string& record = found->second.records.front();  // RFC 6376 6.1.2: any one
  if (record.size() >= buflen) return DKIM_CBSTAT_ERROR;
  std::memcpy(buf, record.data(), record.size());
  buf[record.size()] = '\0';
  return DKIM_CBSTAT_CONTINUE;
}

// Before the body and the crypto: libopendkim skips what was decided already. Finding more
// signatures than verifierCopy() left means it split the header unlike findDkimSignatures():
// stop before hashing the body for them.
DKIM_CBSTAT prescreen(DKIM* dkim, DKIM_SIGINFO** sigs, int count) {
  auto* job = static_cast<Job*>(dkim_get_user_context(dkim));
  signatures_found += static_cast<std::uint64_t>(count);
  if (static_cast<std::size_t>(count) > job->signatures.size()) {
    job->too_many = true;
    return DKIM_CBSTAT_REJECT;
  }
  for (int i = 0; i < count; ++i) {
    const int index = matchSignature(*job, sigs[i]);
    if (index < 0 || !job->to_verify[static_cast<std::size_t>(index)]) {
      dkim_sig_ignore(sigs[i]);
      continue;
    }
    job->matched[static_cast<std::size_t>(index)] = sigs[i];
  }
  return DKIM_CBSTAT_CONTINUE;
}

DKIM_LIB* makeLibrary() {
  DKIM_LIB* lib = dkim_init(nullptr, nullptr);
  if (lib == nullptr) return nullptr;
  // Bad signatures keep a handle, so they are reported; key sizes are checked per call.
  unsigned int flags = DKIM_LIBFLAGS_BADSIGHANDLES;
  unsigned int min_bits = 1;
  dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags);
  dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &min_bits, sizeof min_bits);
  dkim_set_key_lookup(lib, &lookupKey);
  dkim_set_prescreen(lib, &prescreen);
  return lib;
}

// One library for the process; each message gets its own handle, so workers share it safely.
DKIM_LIB* library() {
  static DKIM_LIB* const lib = makeLibrary();
  return lib;
}

void decide(DkimSignatureOutcome& outcome, DkimResult result, std::string detail) {
  outcome.result = result;
  outcome.detail = std::move(detail);
}

// RFC 6376 3.6.1 t=s: the i= domain must be d= itself.
bool subdomainForbidden(DKIM_SIGINFO* sig, const DkimSignature& signature) {
  if ((dkim_sig_getflags(sig) & DKIM_SIGFLAG_NOSUBDOMAIN) == 0) return false;
  const std::size_t at = signature.identity.rfind('@');
  if (at == std::string::npos) return false;
  return lower(signature.identity.substr(at + 1).c_str()) != signature.domain;
}

void decidePassed(DkimSignatureOutcome& outcome, DKIM_SIGINFO* sig, const DkimSignature& signature,
                  unsigned min_key_bits) {
  unsigned int bits = 0;
  const bool rsa = signature.algorithm.rfind("rsa-", 0) == 0;
  if (rsa && dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK && bits < min_key_bits) {
    return decide(outcome, DkimResult::Fail, "key too short (" + std::to_string(bits) + " bits)");
  }
  if (subdomainForbidden(sig, signature)) {
    return decide(outcome, DkimResult::PermError, "key has t=s and i= is a subdomain");
  }
  decide(outcome, DkimResult::Pass, "");
}

// libopendkim's verdict on one signature it processed.
void decideFromLibrary(DkimSignatureOutcome& outcome, DKIM_SIGINFO* sig,
                       const DkimSignature& signature, const Job& job, DKIM* dkim) {
  const unsigned int flags = dkim_sig_getflags(sig);
  const int error = dkim_sig_geterror(sig);
  if ((flags & DKIM_SIGFLAG_PASSED) != 0 && dkim_sig_getbh(sig) == DKIM_SIGBH_MATCH) {
    return decidePassed(outcome, sig, signature, job.options.min_key_bits);
  }
  switch (error) {
    case DKIM_SIGERROR_OK:
    case DKIM_SIGERROR_UNKNOWN:
    case DKIM_SIGERROR_BADSIG:
      if ((flags & DKIM_SIGFLAG_PROCESSED) == 0) {
        const char* why = dkim_geterror(dkim);
        return decide(outcome, DkimResult::PermError,
                      std::string("not verified: ") + (why != nullptr ? why : "unknown"));
      }
      return decide(
          outcome, DkimResult::Fail,
          dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH ? "body hash mismatch" : "signature mismatch");
    case DKIM_SIGERROR_KEYTOOSMALL:
      return decide(outcome, DkimResult::Fail, "key too short");
    case DKIM_SIGERROR_KEYFAIL:
      return decide(outcome, DkimResult::TempError, "key lookup failed");
    default:
      return decide(outcome, DkimResult::PermError, dkim_sig_geterrorstr(error));
  }
}

// The worker's part: the whole message through one libopendkim handle.
void runLibrary(Job& job) {
  ++verifications_run;
  DKIM_LIB* lib = library();
  DKIM_STAT status = DKIM_STAT_OK;
  unsigned char id[] = "spamgate";
  DKIM* dkim = lib != nullptr ? dkim_verify(lib, id, nullptr, &status) : nullptr;
  if (dkim == nullptr) {
    for (std::size_t i = 0; i < job.signatures.size(); ++i) {
      if (job.to_verify[i]) decide(job.outcomes[i], DkimResult::TempError, "libopendkim failed");
    }
    return;
  }
  job.matched.assign(job.signatures.size(), nullptr);
  dkim_set_user_context(dkim, &job);
  auto* data = reinterpret_cast<unsigned char*>(job.message.data());
  status = dkim_chunk(dkim, data, job.message.size());
  if (status == DKIM_STAT_OK) status = dkim_chunk(dkim, nullptr, 0);
  if (status == DKIM_STAT_OK) dkim_eom(dkim, nullptr);
  for (std::size_t i = 0; i < job.signatures.size(); ++i) {
    if (!job.to_verify[i]) continue;
    if (job.matched[i] == nullptr) {
      decide(job.outcomes[i], DkimResult::PermError,
             job.too_many ? "verifier found more signatures than max_signatures"
                          : "signature not usable by the verifier");
      continue;
    }
    decideFromLibrary(job.outcomes[i], job.matched[i], job.signatures[i], job, dkim);
  }
  dkim_free(dkim);
}

bool isSignatureField(std::string_view line) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
    name.remove_suffix(1);
  constexpr std::string_view kName = "dkim-signature";
  return name.size() == kName.size() &&
         std::equal(name.begin(), name.end(), kName.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

// `message` without the DKIM-Signature fields after the first `keep`, continuation lines
// included. Splits the header block as findDkimSignatures() does, so the fields left are the
// ones it listed.
std::string verifierCopy(std::string_view message, std::size_t keep) {
  std::string out;
  out.reserve(message.size());
  std::size_t seen = 0;
  bool dropping = false;
  std::size_t pos = 0;
  while (pos < message.size()) {
    const std::size_t newline = message.find('\n', pos);
    const std::size_t end = newline == std::string_view::npos ? message.size() : newline + 1;
    std::string_view line = message.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the body and the empty line before it are copied below
    if (line.front() != ' ' && line.front() != '\t') {
      dropping = isSignatureField(line) && ++seen > keep;
    }
    if (!dropping) out.append(message.substr(pos, end - pos));
    pos = end;
  }
  out.append(message.substr(pos));
  return out;
}

bool supportedQuery(const std::string& query) {
  if (query.empty()) return true;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t end = query.find(':', pos);
    if (end == std::string::npos) end = query.size();
    if (withoutWhitespace(query.substr(pos, end - pos)) == "dns/txt") return true;
    pos = end + 1;
  }
  return false;
}

// What needs no key: syntax, rsa-sha1, q=. True when the signature needs its key looked up.
bool preDecide(const DkimSignature& signature, const DkimOptions& options,
               DkimSignatureOutcome& outcome) {
  outcome.domain = signature.domain;
  outcome.selector = signature.selector;
  outcome.algorithm = signature.algorithm;
  outcome.identity = signature.identity;
  outcome.header_b = signature.header_b;
  if (!signature.error.empty()) {
    decide(outcome, DkimResult::PermError, signature.error);
  } else if (signature.algorithm == "rsa-sha1" && !options.accept_rsa_sha1) {
    decide(outcome, DkimResult::Fail, "rsa-sha1 not accepted");
  } else if (!supportedQuery(signature.query)) {
    decide(outcome, DkimResult::PermError, "no supported q= method");
  } else {
    return true;
  }
  return false;
}

bool isNegative(dns::Status status) {
  return status == dns::Status::NxDomain || status == dns::Status::NoData ||
         status == dns::Status::BadName;
}

class DkimRun final : public PendingQuery {
 public:
  DkimRun(const DkimOffload& offload, std::shared_ptr<Job> job, DkimDone done)
      : offload_(offload), job_(std::move(job)), done_(std::move(done)) {}
  ~DkimRun() override { job_->cancelled = true; }
  DkimRun(const DkimRun&) = delete;
  DkimRun& operator=(const DkimRun&) = delete;

  void begin(DnsSource& dns, const std::vector<std::string>& names) {
    pending_ = names.size();
    // Queries never answer inline, so starting them all before any answer is safe.
    for (const std::string& name : names) {
      queries_[name] = dns.query(name, dns::Type::TXT, [this, name](dns::Result result) {
        onKey(name, std::move(result));
      });
    }
  }

 private:
  // `name` is a copy: erasing the query may free the callback that holds the original.
  void onKey(std::string name, dns::Result result) {
    queries_.erase(name);
    job_->keys[name] = KeyAnswer{result.status, std::move(result.records)};
    if (--pending_ == 0) verify();
  }

  void verify() {
    Job& job = *job_;
    bool any = false;
    for (std::size_t i = 0; i < job.signatures.size(); ++i) {
      if (!job.to_verify[i]) continue;
      const std::string name = job.signatures[i].keyName();
      const dns::Status status = job.keys[name].status;
      if (status == dns::Status::Ok) {
        any = true;
        continue;
      }
      job.to_verify[i] = false;
      const std::string what(dns::statusName(status));
      if (isNegative(status)) {
        decide(job.outcomes[i], DkimResult::PermError, "no key " + name + " (" + what + ")");
      } else {
        decide(job.outcomes[i], DkimResult::TempError, "key " + name + ": " + what);
      }
    }
    if (!any) return finish();
    std::weak_ptr<int> token = token_;
    const bool taken = offload_(
        [job = job_] {
          if (!job->cancelled) runLibrary(*job);
        },
        [this, token] {
          if (token.lock()) finish();
        });
    if (!taken) refuse();
  }

  void refuse() {
    for (std::size_t i = 0; i < job_->signatures.size(); ++i) {
      if (job_->to_verify[i]) decide(job_->outcomes[i], DkimResult::TempError, "no worker");
    }
    finish();
  }

  // `done` may destroy this object: nothing touches a member after it.
  void finish() {
    std::vector<DkimSignatureOutcome> outcomes = std::move(job_->outcomes);
    DkimDone done = std::move(done_);
    done(std::move(outcomes));
  }

  DkimOffload offload_;
  std::shared_ptr<Job> job_;
  DkimDone done_;
  std::map<std::string, std::unique_ptr<PendingQuery>> queries_;
  std::size_t pending_ = 0;
  std::shared_ptr<int> token_ = std::make_shared<int>(0);  // expires with this object
};

}  // namespace

std::unique_ptr<PendingQuery> verifyDkim(DnsSource& dns, const DkimOffload& offload,
                                         std::string_view message, DkimOptions options,
                                         DkimDone done) {
  auto job = std::make_shared<Job>();
  job->options = options;
  job->signatures = findDkimSignatures(message, options.max_signatures).signatures;
  job->outcomes.resize(job->signatures.size());
  job->to_verify.resize(job->signatures.size());
  std::vector<std::string> names;
  for (std::size_t i = 0; i < job->signatures.size(); ++i) {
    job->to_verify[i] = preDecide(job->signatures[i], options, job->outcomes[i]);
    const std::string name = job->signatures[i].keyName();
    if (job->to_verify[i] && std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
  }
  if (names.empty()) {
    done(std::move(job->outcomes));
    return nullptr;
  }
  job->message = verifierCopy(message, job->signatures.size());
  auto run = std::make_unique<DkimRun>(offload, std::move(job), std::move(done));
  run->begin(dns, names);
  return run;
}

DkimLibraryStats dkimLibraryStats() {
  return DkimLibraryStats{verifications_run.load(), signatures_found.load()};
}

}  // namespace spamgate::auth
