// `spamgate review`: the operator's view of the decision log (src/review).
#include "review/review.h"

#include <chrono>
#include <iostream>
#include <memory>

#include "app/command.h"
#include "checks/cidr.h"
#include "review/time_window.h"

namespace spamgate::app {

namespace {

struct ReviewArgs {
  review::Options options;
  std::string since, until, ip, from, rcpt;
  bool list = false;
  bool false_positives = false;
};

int64_t nowMs() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
}

// --since/--until/--ip/--from/--rcpt into the filter; false with a message on a bad value.
bool buildFilter(ReviewArgs& a, std::ostream& err) {
  auto& f = a.options.filter;
  const int64_t now = nowMs();
  for (const auto& [text, to] :
       {std::pair{&a.since, &f.window.since_ms}, {&a.until, &f.window.until_ms}}) {
    if (text->empty()) continue;
    const auto when = review::parseWhen(*text, now);
    if (!when) return err << "spamgate review: bad time \"" << *text << "\"\n", false;
    *to = *when;
  }
  std::string error;
  if (!a.ip.empty() && !(f.network = checks::parseCidr(a.ip, &error)))
    return err << "spamgate review: --ip " << a.ip << ": " << error << "\n", false;
  if (!a.from.empty()) f.from = review::parseAddressMatch(a.from);
  if (!a.rcpt.empty()) f.rcpt = review::parseAddressMatch(a.rcpt);
  return true;
}

int runReview(ReviewArgs& a) {
  if (!buildFilter(a, std::cerr)) return 2;
  auto& o = a.options;
  if (!o.explain_id.empty()) {
    o.view = review::View::Explain;
  } else if (a.false_positives) {
    o.view = review::View::FalsePositives;
  } else if (a.list) {
    o.view = review::View::List;
  }
  return review::review(o, std::cout, std::cerr);
}

void addFilterOptions(CLI::App* cli, ReviewArgs& a) {
  cli->add_option("--since", a.since,
                  "Start of the period (UTC): 30m, 2h, 7d back from now, 2026-11-01, or "
                  "2026-11-01T10:00:00");
  cli->add_option("--until", a.until, "End of the period (excluded), in the forms of --since");
  cli->add_option("--action", a.options.filter.actions, "Only this action (repeatable)")
      ->check(CLI::IsMember({"accept", "tag", "tempfail", "reject", "disconnect", "none"}))
      ->allow_extra_args(false);  // one value per --action: what follows is a log file
  cli->add_option("--ip", a.ip, "Only clients in this network or address (CIDR)");
  cli->add_option("--from", a.from,
                  "Sender: a case-insensitive substring of the address; <address> matches it "
                  "exactly, <> the null sender");
  cli->add_option("--rcpt", a.rcpt, "A recipient, as --from");
  cli->add_option("--rule", a.options.filter.rule, "Only decisions with this symbol");
  cli->add_option("--id", a.options.filter.id, "Only this decision id");
}

}  // namespace

Command addReviewCommand(CLI::App& app) {
  auto args = std::make_shared<ReviewArgs>();
  auto* cli = app.add_subcommand(
      "review", "Summarise and search decision logs (plain or gzip; none or - reads stdin)");
  addFilterOptions(cli, *args);
  auto* list = cli->add_flag("--list", args->list, "The matching decisions, one per line");
  auto* explain = cli->add_option("--explain", args->options.explain_id, "One decision in full");
  auto* fp = cli->add_flag("--false-positives", args->false_positives,
                           "Rejections that passed DKIM/DMARC or whose client also had mail "
                           "accepted in the period");
  auto* html = cli->add_option("--html", args->options.html_path,
                               "Write the summary as a self-contained HTML page to this file");
  list->excludes(explain)->excludes(fp)->excludes(html);
  explain->excludes(fp)->excludes(html);
  fp->excludes(html);
  cli->add_flag("--json", args->options.json, "One JSON document instead of tables");
  cli->add_option("--top", args->options.top, "Rows of each top list (default 10)")
      ->check(CLI::PositiveNumber);
  cli->add_option("logfiles", args->options.files, "Decision logs (default: stdin)");
  return {cli, [args] { return runReview(*args); }};
}

}  // namespace spamgate::app
