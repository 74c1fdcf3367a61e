// The content-rules commands, for tuning without a mail server:
//   spamgate scan [-c CONFIG] [--json] [--id ID]... [FILE... | -]   scores messages with the
//     configured rules (no DNS: the rules alone) and prints score, action and each hit with
//     score and description; --id re-scores a quarantined message (with its first verdict);
//     exit status 1 if a message cannot be read or the rules have errors.
//   spamgate lint [-c CONFIG]   checks the config and every rules file; problems as
//     FILE:LINE: message, then what was loaded and skipped by kind; exit status 1 on any error.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace spamgate::app {

struct ScanInput {
  std::vector<std::string> files;            // "-" is stdin
  std::vector<std::string> quarantined_ids;  // read from [quarantine] dir
};

int scan(const std::string& config_path, const ScanInput& input, bool json, std::ostream& out,
         std::ostream& err);
int lint(const std::string& config_path, std::ostream& out);

}  // namespace spamgate::app
