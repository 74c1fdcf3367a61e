#include "checks/greylist.h"

#include <algorithm>
#include <charconv>

#include "base/ascii.h"

namespace spamgate::checks {

namespace {

using pipeline::CheckResult;
using pipeline::Stage;
using std::chrono::milliseconds;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), base::asciiLower);
  return out;
}

bool has(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A triplet's record: "wait <ms>" (first seen) or "pass <ms>" (passed).
struct Entry {
  bool passed = false;
  int64_t since_ms = 0;
};

std::optional<Entry> parseEntry(std::string_view text) {
  Entry entry;
  if (text.starts_with("pass ")) {
    entry.passed = true;
  } else if (!text.starts_with("wait ")) {
    return std::nullopt;
  }
  const auto [end, error] =
      std::from_chars(text.data() + 5, text.data() + text.size(), entry.since_ms);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return entry;
}

CheckResult storeError(const std::string& error) {
  return CheckResult{{{"GREYLIST_STORE_ERROR", 0, error}}, std::nullopt};
}

CheckResult defer(int64_t wait_ms, const std::string& detail) {
  const auto seconds = std::to_string((std::max<int64_t>(wait_ms, 0) + 999) / 1000);
  CheckResult result{{{"GREYLIST_DEFER", 0, detail}}, std::nullopt};
  result.opinion = policy::Opinion{
      policy::Action::Tempfail,
      smtp::makeReply(451, "4.7.1", "Greylisted, please try again in " + seconds + " seconds"),
      "greylist: GREYLIST_DEFER"};
  return result;
}

// One RCPT's run: the spfok read when asked, then the triplet's read and write. Owns the
// store request in flight; the callbacks capture `this`, which the request cannot outlive.
class Run final : public pipeline::PendingCheck {
 public:
  Run(const config::Greylist& settings, store::StateStore& store, int64_t now_ms, std::string key,
      pipeline::CheckDone done)
      : settings_(settings),
        store_(store),
        now_ms_(now_ms),
        key_(std::move(key)),
        done_(std::move(done)) {}

  void checkSpf(const std::string& domain) {
    request_ = store_.get(reputation::spfKey(domain), [this](store::ValueResult known) {
      if (known.error.empty() && known.value) return finish({});
      readTriplet();
    });
  }
  void readTriplet() {
    request_ = store_.get(key_, [this](store::ValueResult got) {
      if (!got.error.empty()) return finish(storeError(got.error));
      const auto entry = got.value ? parseEntry(*got.value) : std::nullopt;
      const int64_t age = entry ? now_ms_ - entry->since_ms : 0;
      if (!entry || (!entry->passed && age >= ms(settings_.retry_window))) return firstContact();
      if (entry->passed)
        return pass("known triplet, passed " + std::to_string(age / 1000) + " s ago");
      const int64_t delay = ms(settings_.delay);
      if (age < delay) return finish(defer(delay - age, "retry too early, after " + seconds(age)));
      pass("retried after " + seconds(age));
    });
  }

 private:
  static int64_t ms(std::chrono::seconds s) { return milliseconds(s).count(); }
  static std::string seconds(int64_t ms) { return std::to_string(ms / 1000) + " s"; }

  void firstContact() {
    write("wait ", settings_.retry_window, [this](const std::string& error) {
      if (!error.empty()) return finish(storeError(error));
      finish(defer(ms(settings_.delay), "first contact"));
    });
  }
  void pass(std::string detail) {
    write("pass ", settings_.pass_lifetime, [this, detail](const std::string&) {
      finish(CheckResult{{{"GREYLIST_PASS", 0, detail}}, std::nullopt});
    });
  }
  void write(const char* state, std::chrono::seconds ttl, std::function<void(std::string)> then) {
    request_ = store_.put(key_, state + std::to_string(now_ms_), ttl,
                          [then = std::move(then)](store::WriteResult r) { then(r.error); });
  }
  // Last thing a callback does: `done` may destroy this run.
  void finish(CheckResult result) {
    auto done = std::move(done_);
    done(std::move(result));
  }

  const config::Greylist settings_;
  store::StateStore& store_;
  int64_t now_ms_;
  std::string key_;
  pipeline::CheckDone done_;
  std::unique_ptr<store::PendingRequest> request_;
};

}  // namespace

std::string greylistKey(const config::Greylist& settings, std::string_view ip,
                        std::string_view sender, std::string_view recipient) {
  const auto network = clientNetwork(ip, settings.ipv4_prefix, settings.ipv6_prefix);
  if (network.empty()) return {};
  return "grey:" + network + ":" + (sender.empty() ? std::string("<>") : lower(sender)) + ":" +
         lower(recipient);
}

Greylist::Greylist(config::Greylist settings, WallClock clock)
    : settings_(settings), clock_(std::move(clock)) {}

bool Greylist::runsAt(Stage stage) const {
  return settings_.enabled && stage == Stage::Rcpt;
}

bool Greylist::skipped(const pipeline::Context& context) const {
  if (context.facts != nullptr && context.facts->allowlisted) return true;
  if (has(context.prior_symbols, "DNSWL_LISTED")) return true;
  if (settings_.skip_good_reputation && has(context.prior_symbols, "REPUTATION_GOOD")) return true;
  if (settings_.min_score && context.prior_score < *settings_.min_score) return true;
  return settings_.max_score && context.prior_score >= *settings_.max_score;
}

// The MAIL FROM domain when SPF passed for it and spfok may be asked; else empty.
std::string Greylist::knownSpfDomain(const pipeline::Context& context) const {
  if (!settings_.skip_spf_pass_known || context.facts == nullptr) return {};
  const auto& spf = context.facts->auth.spf;
  if (!spf || spf->result != auth::SpfResult::Pass || spf->helo_identity) return {};
  const auto& sender = context.mail->reverse_path;
  const auto at = sender.rfind('@');
  if (at == std::string::npos || !base::equalsIgnoreCase(sender.substr(at + 1), spf->domain)) {
    return {};
  }
  return lower(spf->domain);
}

std::unique_ptr<pipeline::PendingCheck> Greylist::start(Stage stage,
                                                        const pipeline::Context& context,
                                                        pipeline::CheckDone done) {
  if (!runsAt(stage) || context.mail == nullptr || context.rcpt == nullptr || skipped(context)) {
    done({});
    return nullptr;
  }
  const auto key = greylistKey(settings_, context.client_ip, context.mail->reverse_path,
                               context.rcpt->forward_path);
  if (key.empty()) {
    done({});
    return nullptr;
  }
  if (context.state == nullptr) {
    done(storeError("no state store"));
    return nullptr;
  }
  const auto now = clock_ ? clock_() : std::chrono::system_clock::now();
  const auto now_ms = std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count();
  auto run = std::make_unique<Run>(settings_, *context.state, now_ms, key, std::move(done));
  const auto domain = knownSpfDomain(context);
  if (domain.empty()) {
    run->readTriplet();
  } else {
    run->checkSpf(domain);
  }
  return run;
}

}  // namespace spamgate::checks
