// `spamgate serve`: the composition root. Loads the configuration (or the embedded defaults),
// opens the decision log, starts the workers and handles signals on the main thread:
// SIGHUP reloads (a broken new config is reported and the old one keeps running), SIGUSR1
// reopens the decision log, SIGTERM/SIGINT stop accepting and drain within the deadline.
#pragma once

#include <string>

namespace spamgate::app {

// Returns the process exit code. Throws only at start-up (bad config, unusable address).
int serve(const std::string& config_path);

}  // namespace spamgate::app
