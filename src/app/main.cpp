// spamgate: an anti-spam SMTP gateway. The binary is thin: subcommands live in src/app.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "app/content.h"
#include "app/serve.h"
#include "config/config.h"

int main(int argc, char** argv) {
  CLI::App app{"spamgate: an anti-spam SMTP gateway in front of your mail server"};
  app.set_version_flag("--version", "spamgate " SPAMGATE_VERSION);
  app.require_subcommand(1);

  std::string config_path;
  auto* serve = app.add_subcommand("serve", "Run the gateway in the foreground (logs to stderr)");
  serve->add_option("-c,--config", config_path,
                    "Configuration file (TOML); without it, the embedded defaults");

  std::vector<std::string> files;
  bool json = false;
  auto* scan = app.add_subcommand("scan", "Score messages with the configured rules (no DNS)");
  scan->add_option("-c,--config", config_path, "Configuration file (TOML)");
  scan->add_flag("--json", json, "One JSON object per message");
  scan->add_option("files", files, "Messages (RFC 5322 files); - reads one from stdin")->required();
  auto* lint = app.add_subcommand("lint", "Check the configuration and every rules file");
  lint->add_option("-c,--config", config_path, "Configuration file (TOML)");

  CLI11_PARSE(app, argc, argv);
  try {
    if (*serve) return spamgate::app::serve(config_path);
    if (*scan) return spamgate::app::scan(config_path, files, json, std::cout, std::cerr);
    if (*lint) return spamgate::app::lint(config_path, std::cout);
  } catch (const spamgate::config::ConfigError& e) {
    std::cerr << "spamgate: configuration error: " << e.what() << "\n";
    return 78;  // EX_CONFIG
  } catch (const std::exception& e) {
    std::cerr << "spamgate: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
