// Readers for [store], [greylist] and [reputation]. Internal to the config module.
#pragma once

#include "config/config.h"
#include "config/table_reader.h"

namespace spamgate::config::detail {

void readStateSections(TableReader& root, Config& config);

}  // namespace spamgate::config::detail
