#include "app/content.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "app/command.h"
#include "checks/rules.h"
#include "config/config.h"
#include "log/json.h"
#include "mime/message.h"
#include "policy/verdict.h"
#include "quarantine/quarantine.h"
#include "rules/rules.h"

namespace spamgate::app {

namespace {

config::Snapshot loadConfig(const std::string& path) {
  return path.empty() ? config::defaults() : config::load(path);
}

std::shared_ptr<const rules::RuleSet> loadRules(const config::Config& c,
                                                rules::LoadReport& report) {
  return rules::loadRules(c.rules.paths, checks::rulesOptions(c.rules), report);
}

bool readMessage(const std::string& file, std::string& out) {
  if (file == "-") {
    out.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  return buffer;
}

struct Scored {
  std::vector<policy::Symbol> symbols;
  double score = 0;
  policy::Action action = policy::Action::Accept;
};

Scored score(const rules::RuleSet& rules, const config::Policy& policy, const std::string& raw) {
  Scored scored;
  const mime::Message message = mime::parseMessage(raw);
  scored.symbols = checks::ruleSymbols(rules::scan(rules, message, raw, {}));
  scored.score = policy::totalScore(scored.symbols);
  scored.action = policy::decide(smtp::Stage::EndOfData, scored.symbols, {},
                                 policy::Thresholds{policy.tag_score, policy.reject_score,
                                                    policy.tempfail_score})
                      .action;
  return scored;
}

void printText(std::ostream& out, const std::string& file, const Scored& s) {
  out << file << ": score " << number(s.score) << ", " << policy::actionName(s.action) << "\n";
  for (const auto& symbol : s.symbols) {
    out << "  " << number(symbol.score) << "  " << symbol.name;
    if (!symbol.detail.empty()) out << "  " << symbol.detail;
    out << "\n";
  }
}

void printJson(std::ostream& out, const std::string& file, const Scored& s) {
  log::JsonWriter json;
  json.beginObject()
      .field("file", file)
      .field("score", s.score)
      .field("action", policy::actionName(s.action));
  json.beginArray("hits");
  for (const auto& symbol : s.symbols) {
    json.beginObject()
        .field("name", symbol.name)
        .field("score", symbol.score)
        .field("description", symbol.detail)
        .endObject();
  }
  json.endArray().endObject();
  out << json.take() << "\n";
}

}  // namespace

int scan(const std::string& config_path, const ScanInput& input, bool json, std::ostream& out,
         std::ostream& err) {
  const config::Snapshot config = loadConfig(config_path);
  rules::LoadReport report;
  const auto rules = loadRules(*config, report);
  for (const auto& error : report.errors)
    err << error.text() << "\n";
  if (!report.errors.empty()) return 1;
  int status = 0;
  auto scoreOne = [&](const std::string& label, const std::string& raw) {
    const Scored scored = score(*rules, config->policy, raw);
    json ? printJson(out, label, scored) : printText(out, label, scored);
  };
  for (const auto& file : input.files) {
    std::string raw;
    if (!readMessage(file, raw)) {
      err << file << ": cannot read\n";
      status = 1;
      continue;
    }
    scoreOne(file, raw);
  }
  const quarantine::Quarantine store(config->quarantine.dir);
  for (const auto& id : input.quarantined_ids) {
    std::string error;
    const auto entry = store.read(id, error);
    if (!entry) {
      err << error << "\n";
      status = 1;
      continue;
    }
    if (!json) {
      out << id << ": was " << entry->envelope.action << " at score "
          << number(entry->envelope.score) << " (" << entry->envelope.reason << ")\n";
    }
    scoreOne(id, entry->message);
  }
  return status;
}

int lint(const std::string& config_path, std::ostream& out) {
  config::Snapshot config;
  try {
    config = loadConfig(config_path);
  } catch (const config::ConfigError& error) {
    out << error.what() << "\n";
    return 1;
  }
  rules::LoadReport report;
  const auto rules = loadRules(*config, report);
  for (const auto& error : report.errors)
    out << error.text() << "\n";
  for (const auto& warning : report.warnings)
    out << warning.text() << " (warning)\n";
  std::size_t loaded = 0;
  std::ostringstream kinds;
  for (const auto& [kind, count] : report.loaded) {
    loaded += count;
    kinds << (kinds.tellp() > 0 ? ", " : "") << kind << " " << count;
  }
  out << loaded << " rules loaded from " << report.files << " files (" << kinds.str() << ")\n";
  for (const auto& [reason, count] : report.skipped)
    out << "skipped: " << count << " " << reason << "\n";
  out << report.errors.size() << " errors, " << report.warnings.size() << " warnings\n";
  return report.errors.empty() ? 0 : 1;
}

Command addScanCommand(CLI::App& app) {
  struct Options {
    std::string config_path;
    ScanInput input;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  auto* cli = app.add_subcommand("scan", "Score messages with the configured rules (no DNS)");
  cli->add_option("-c,--config", options->config_path, "Configuration file (TOML)");
  cli->add_flag("--json", options->json, "One JSON object per message");
  auto* files = cli->add_option("files", options->input.files,
                                "Messages (RFC 5322 files); - reads one from stdin");
  auto* ids = cli->add_option("--id", options->input.quarantined_ids,
                              "A quarantined message's decision id (repeatable): re-scores it "
                              "with today's rules");
  cli->callback([files, ids] {
    if (files->count() == 0 && ids->count() == 0) throw CLI::RequiredError("FILE... or --id ID");
  });
  return {cli, [options] {
            return scan(options->config_path, options->input, options->json, std::cout, std::cerr);
          }};
}

Command addLintCommand(CLI::App& app) {
  auto config_path = std::make_shared<std::string>();
  auto* cli = app.add_subcommand("lint", "Check the configuration and every rules file");
  cli->add_option("-c,--config", *config_path, "Configuration file (TOML)");
  return {cli, [config_path] { return lint(*config_path, std::cout); }};
}

}  // namespace spamgate::app
