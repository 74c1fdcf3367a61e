// spamgate: an anti-spam SMTP gateway. The binary is thin: subcommands live in src/app.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

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

  CLI11_PARSE(app, argc, argv);
  try {
    if (*serve) return spamgate::app::serve(config_path);
  } catch (const spamgate::config::ConfigError& e) {
    std::cerr << "spamgate: configuration error: " << e.what() << "\n";
    return 78;  // EX_CONFIG
  } catch (const std::exception& e) {
    std::cerr << "spamgate: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
