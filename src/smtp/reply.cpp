#include "smtp/reply.h"

namespace spamgate::smtp {

namespace {

void appendLine(std::string& out, const Reply& reply, std::string_view line, bool last) {
  out += std::to_string(reply.code);
  out += last ? ' ' : '-';
  if (!reply.enhanced.empty()) {
    out += reply.enhanced;
    if (!line.empty()) out += ' ';
  }
  out += line;
  out += "\r\n";
}

}  // namespace

std::string Reply::wire() const {
  std::string out;
  std::string_view rest = text;
  for (;;) {
    auto nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      appendLine(out, *this, rest, true);
      return out;
    }
    appendLine(out, *this, rest.substr(0, nl), false);
    rest.remove_prefix(nl + 1);
  }
}

std::string Reply::summary() const {
  std::string out = std::to_string(code);
  if (!enhanced.empty()) out += " " + enhanced;
  if (!text.empty()) out += " ";
  for (char c : text)
    out += c == '\n' ? ' ' : c;
  return out;
}

Reply makeReply(int code, std::string_view enhanced, std::string_view text, bool closes) {
  return Reply{code, std::string(enhanced), std::string(text), closes};
}

}  // namespace spamgate::smtp
