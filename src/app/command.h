// A subcommand of the one binary: each src/app file adds its own options to the command line
// and hands back what runs it when chosen, so main() knows nothing of any command's options.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace spamgate::app {

struct Command {
  CLI::App* cli = nullptr;
  std::function<int()> run;  // the exit status; may throw config::ConfigError
};

Command addServeCommand(CLI::App& app);
Command addScanCommand(CLI::App& app);
Command addLintCommand(CLI::App& app);
Command addReleaseCommand(CLI::App& app);     // app/release.cpp
Command addReviewCommand(CLI::App& app);      // app/review.cpp
Command addReputationCommand(CLI::App& app);  // app/reputation.cpp

}  // namespace spamgate::app
