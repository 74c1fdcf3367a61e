// spamgate: an anti-spam SMTP gateway. The binary is thin: subcommands live in src/app.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <vector>

#include "app/command.h"
#include "config/config.h"

int main(int argc, char** argv) {
  using namespace spamgate::app;
  CLI::App app{"spamgate: an anti-spam SMTP gateway in front of your mail server"};
  app.set_version_flag("--version", "spamgate " SPAMGATE_VERSION);
  app.require_subcommand(1);
  const std::vector<Command> commands = {addServeCommand(app),  addScanCommand(app),
                                         addLintCommand(app),   addReleaseCommand(app),
                                         addReviewCommand(app), addReputationCommand(app)};
  CLI11_PARSE(app, argc, argv);
  try {
    for (const auto& command : commands) {
      if (*command.cli) return command.run();
    }
  } catch (const spamgate::config::ConfigError& e) {
    std::cerr << "spamgate: configuration error: " << e.what() << "\n";
    return 78;  // EX_CONFIG
  } catch (const std::exception& e) {
    std::cerr << "spamgate: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
