#include "smtp/command.h"

#include <array>

namespace spamgate::smtp {

namespace {

constexpr std::array kVerbs = {
    VerbInfo{"EHLO", Verb::Ehlo, ArgRule::Required},
    VerbInfo{"HELO", Verb::Helo, ArgRule::Required},
    VerbInfo{"MAIL", Verb::Mail, ArgRule::Required},
    VerbInfo{"RCPT", Verb::Rcpt, ArgRule::Required},
    VerbInfo{"DATA", Verb::Data, ArgRule::None},
    VerbInfo{"BDAT", Verb::Bdat, ArgRule::Optional},  // onBdat closes on a missing size
    VerbInfo{"RSET", Verb::Rset, ArgRule::None},
    VerbInfo{"NOOP", Verb::Noop, ArgRule::Optional},
    VerbInfo{"QUIT", Verb::Quit, ArgRule::None},
    VerbInfo{"VRFY", Verb::Vrfy, ArgRule::Required},
    VerbInfo{"EXPN", Verb::Expn, ArgRule::Optional},
    VerbInfo{"HELP", Verb::Help, ArgRule::Optional},
    VerbInfo{"STARTTLS", Verb::StartTls, ArgRule::None},
    VerbInfo{"AUTH", Verb::Auth, ArgRule::Optional},
};

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool startsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && equalsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

Command parseCommand(std::string_view line) {
  Command command;
  const auto space = line.find(' ');
  command.verb = line.substr(0, space);
  if (space != std::string_view::npos) command.arg = trim(line.substr(space + 1));
  for (const auto& info : kVerbs) {
    if (equalsIgnoreCase(command.verb, info.name)) command.info = &info;
  }
  return command;
}

}  // namespace spamgate::smtp
