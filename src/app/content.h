// The content-rules commands, for tuning without a mail server:
//   spamgate scan [-c CONFIG] [--json] FILE... | -   scores messages with the configured rules
//     (no DNS: the rules alone) and prints score, action and each hit with score and
//     description; exit status 1 if a file cannot be read or the rules have errors.
//   spamgate lint [-c CONFIG]   checks the config and every rules file; problems as
//     FILE:LINE: message, then what was loaded and skipped by kind; exit status 1 on any error.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace spamgate::app {

int scan(const std::string& config_path, const std::vector<std::string>& files, bool json,
         std::ostream& out, std::ostream& err);
int lint(const std::string& config_path, std::ostream& out);

}  // namespace spamgate::app
