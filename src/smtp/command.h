// SMTP command lines: the verb table and the split of a line into verb and argument.
#pragma once

#include <string_view>

namespace spamgate::smtp {

enum class Verb {
  Unknown,
  Helo,
  Ehlo,
  Mail,
  Rcpt,
  Data,
  Bdat,
  Rset,
  Noop,
  Quit,
  Vrfy,
  Expn,
  Help,
  StartTls,
  Auth
};

enum class ArgRule { None, Optional, Required };

struct VerbInfo {
  std::string_view name;
  Verb verb;
  ArgRule arg;
};

struct Command {
  const VerbInfo* info = nullptr;  // nullptr: not a verb we know
  std::string_view verb;           // as sent
  std::string_view arg;            // after the first space, outer spaces trimmed
  Verb id() const { return info ? info->verb : Verb::Unknown; }
};

Command parseCommand(std::string_view line);

bool equalsIgnoreCase(std::string_view a, std::string_view b);
bool startsWithIgnoreCase(std::string_view text, std::string_view prefix);
std::string_view trim(std::string_view text);

}  // namespace spamgate::smtp
