// Readers for the connection-stage check sections: [dns], [lists], [dnsbl] (with its
// [[dnsbl.zones]]), [fcrdns], [helo], [pregreet], [rate_limits], and sender authentication: [spf],
// [dkim], [dmarc]. Internal to the config module.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/table_reader.h"

namespace spamgate::config::detail {

// Reads every check section present under `root` into `config`; errors as TableReader's.
void readCheckSections(TableReader& root, Config& config);

// A file named by a key, which load() must be able to read.
struct FileKey {
  std::string key;  // "lists.allow"
  uint32_t line = 0;
  std::string path;
};

// The files of these sections that will be opened: the list files, when lists are enabled.
std::vector<FileKey> checkSectionFiles(const toml::table& root, const Config& config);

}  // namespace spamgate::config::detail
