// Benchmark driver for the content rules (not a test): loads a rules set once, reads every
// message into memory, then parses and scans each one as `spamgate scan` does, timing the two
// steps with the thread's CPU clock.
//
//   scan_bench -c CONFIG [--skip-bad-regex] [--score-set N] [--reps N] [--per-rule N] -- FILE...
//
// The rules load as `spamgate scan -c CONFIG` loads them ([rules] of CONFIG, through
// checks::rulesOptions); --skip-bad-regex and --score-set override the load options.
//
// stdout, one line per message (last repetition): "file\tbytes\tparse_us\trules_us\tscore\thits"
// with hits comma-separated; then "#"-lines: load CPU time, totals per repetition, and with
// --per-rule N, the CPU time of every rule the scan runs, over the first N messages.
//
// --per-rule times each rule alone by switching the loaded set's `reported` flags (a bench-only
// use of rules/internal.h: the RuleSet is created non-const by the loader, so the const_cast is
// defined). A header rule alone also pays for composing its header text, which a real scan
// shares between rules; the empty scan's cost is subtracted.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "checks/rules.h"
#include "config/config.h"
#include "mime/message.h"
#include "rules/internal.h"
#include "rules/rules.h"

namespace {

using namespace spamgate;

double cpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

struct Options {
  std::string config;
  bool skip_bad_regex = false;
  int score_set = -1;
  std::vector<std::string> files;
  unsigned reps = 1;
  std::size_t per_rule = 0;
};

Options parseArgs(int argc, char** argv) {
  Options o;
  bool files = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (files) {
      o.files.push_back(a);
    } else if (a == "--") {
      files = true;
    } else if (a == "--skip-bad-regex") {
      o.skip_bad_regex = true;
    } else if (a == "--score-set") {
      o.score_set = std::stoi(next());
    } else if (a == "--reps") {
      o.reps = static_cast<unsigned>(std::stoul(next()));
    } else if (a == "--per-rule") {
      o.per_rule = std::stoul(next());
    } else if (a == "-c") {
      o.config = next();
    } else {
      std::fprintf(stderr, "scan_bench: unknown argument %s\n", a.c_str());
      std::exit(2);
    }
  }
  return o;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string hitNames(const rules::ScanResult& result) {
  std::string names;
  for (const auto& hit : result.hits)
    names += (names.empty() ? "" : ",") + hit.name;
  return names;
}

void runReps(const rules::RuleSet& set, const Options& o, const std::vector<std::string>& raw) {
  for (unsigned rep = 0; rep < o.reps; ++rep) {
    double parse_total = 0;
    double rules_total = 0;
    const bool last = rep + 1 == o.reps;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const double t0 = cpuMicros();
      const mime::Message message = mime::parseMessage(raw[i]);
      const double t1 = cpuMicros();
      const rules::ScanResult result = rules::scan(set, message, raw[i], {});
      const double t2 = cpuMicros();
      parse_total += t1 - t0;
      rules_total += t2 - t1;
      if (last) {
        std::printf("%s\t%zu\t%.1f\t%.1f\t%.2f\t%s\n", o.files[i].c_str(), raw[i].size(), t1 - t0,
                    t2 - t1, result.score, hitNames(result).c_str());
      }
    }
    std::printf("#rep\t%u\tparse_s\t%.4f\trules_s\t%.4f\n", rep, parse_total / 1e6,
                rules_total / 1e6);
  }
}

double scanCost(const rules::RuleSet& set, const std::vector<mime::Message>& messages,
                const std::vector<std::string>& raw) {
  const double t0 = cpuMicros();
  for (std::size_t i = 0; i < messages.size(); ++i)
    rules::scan(set, messages[i], raw[i], {});
  return cpuMicros() - t0;
}

// Every rule the real scan runs (needed), timed alone over the first `count` messages.
void perRule(rules::RuleSet& set, const std::vector<std::string>& raw, std::size_t count) {
  std::vector<mime::Message> messages;
  for (std::size_t i = 0; i < std::min(count, raw.size()); ++i)
    messages.push_back(mime::parseMessage(raw[i]));
  std::vector<bool> reported;
  for (auto& rule : set.rules) {
    reported.push_back(rule.reported);
    rule.reported = false;
  }
  std::vector<uint32_t> meta_order;
  std::swap(meta_order, set.meta_order);
  const double empty = scanCost(set, messages, raw);
  std::printf("#empty_scan_us\t%.1f\tmessages\t%zu\n", empty, messages.size());
  for (auto& rule : set.rules) {
    if (!rule.needed || rule.kind == rules::detail::Kind::Meta) continue;
    rule.reported = true;
    const double cost = scanCost(set, messages, raw) - empty;
    rule.reported = false;
    std::printf("#rule\t%s\t%s\t%.1f\t%s:%u\n", rule.name.c_str(),
                std::string(rules::detail::kindName(rule.kind)).c_str(), cost, rule.file.c_str(),
                rule.line);
  }
  std::swap(meta_order, set.meta_order);
  for (std::size_t i = 0; i < set.rules.size(); ++i)
    set.rules[i].reported = reported[i];
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parseArgs(argc, argv);
  const config::Snapshot config = config::load(o.config);
  rules::LoadOptions options = checks::rulesOptions(config->rules);
  if (o.skip_bad_regex) options.skip_bad_regex = true;
  if (o.score_set >= 0) options.score_set = static_cast<unsigned>(o.score_set);
  const double t0 = cpuMicros();
  rules::LoadReport report;
  auto set = rules::loadRules(config->rules.paths, options, report);
  const double load = cpuMicros() - t0;
  for (const auto& error : report.errors)
    std::fprintf(stderr, "%s\n", error.text().c_str());
  if (!report.errors.empty()) return 1;
  std::size_t loaded = 0;
  for (const auto& [kind, n] : report.loaded)
    loaded += n;
  std::printf("#load_s\t%.4f\trules\t%zu\n", load / 1e6, loaded);
  std::vector<std::string> raw;
  for (const auto& file : o.files)
    raw.push_back(readFile(file));
  runReps(*set, o, raw);
  if (o.per_rule > 0) perRule(const_cast<rules::RuleSet&>(*set), raw, o.per_rule);
  return 0;
}
