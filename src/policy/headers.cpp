#include "policy/headers.h"

#include <algorithm>
#include <cstdio>

#include "smtp/command.h"

namespace spamgate::policy {

namespace {

constexpr std::size_t kFoldAt = 76;
constexpr std::size_t kHeaderScanLimit = 64 * 1024;

// Appends `words` to a header, folding with CRLF + tab before a word that would pass kFoldAt.
void appendFolded(std::string& out, std::size_t& column, std::string_view word) {
  if (column + 1 + word.size() > kFoldAt && column > 0) {
    out += "\r\n\t";
    column = 8;
  } else {
    out += ' ';
    ++column;
  }
  out += word;
  column += word.size();
}

std::string formatScore(double score) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", score);
  return buffer;
}

}  // namespace

std::string rfc5322Date(std::time_t when) {
  std::tm tm{};
  gmtime_r(&when, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buffer;
}

std::string receivedHeader(const ReceivedInfo& info) {
  std::string out = "Received:";
  std::size_t column = out.size();
  const std::string name = info.client_name.empty() ? "unknown" : info.client_name;
  for (const auto& word :
       {std::string("from"), info.helo.empty() ? name : info.helo, "(" + name,
        "[" + info.client_ip + "])", std::string("by"), info.hostname, std::string("(spamgate)")}) {
    appendFolded(out, column, word);
  }
  if (!info.tls.empty()) {
    std::string_view tls = info.tls;
    appendFolded(out, column, "(using");
    while (!tls.empty()) {
      const auto space = tls.find(' ');
      appendFolded(out, column, tls.substr(0, space));
      tls = space == std::string_view::npos ? std::string_view() : tls.substr(space + 1);
    }
    out += ')';
    ++column;
  }
  appendFolded(out, column, "with");
  appendFolded(out, column, info.protocol);
  appendFolded(out, column, "id");
  appendFolded(out, column, info.id);
  if (!info.recipient.empty()) {
    appendFolded(out, column, "for");
    appendFolded(out, column, "<" + info.recipient + ">");
  }
  out += ';';
  appendFolded(out, column, rfc5322Date(info.when));
  out += "\r\n";
  return out;
}

std::string spamHeaders(bool spam, double score, double threshold,
                        const std::vector<Symbol>& symbols) {
  std::string out = spam ? "X-Spam-Flag: YES\r\n" : "";
  out += "X-Spam-Score: " + formatScore(score) + "\r\n";
  out += std::string("X-Spam-Status: ") + (spam ? "Yes" : "No") + ", score=" + formatScore(score) +
         " required=" + formatScore(threshold);
  std::size_t column = out.size() - out.rfind('\n') - 1;
  std::vector<std::string_view> names;
  for (const auto& symbol : symbols) {
    if (std::find(names.begin(), names.end(), symbol.name) == names.end()) {
      names.push_back(symbol.name);
    }
  }
  if (names.empty()) appendFolded(out, column, "tests=none");
  // "tests=A,B,C" as SpamAssassin writes it: no spaces, folded after a comma when long.
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::string word = std::string(names[i]) + (i + 1 < names.size() ? "," : "");
    if (i == 0) {
      appendFolded(out, column, "tests=" + word);
    } else if (column + word.size() > kFoldAt) {
      out += "\r\n\t" + word;
      column = 8 + word.size();
    } else {
      out += word;
      column += word.size();
    }
  }
  return out + "\r\n";
}

std::string headerValue(std::string_view message, std::string_view name) {
  message = message.substr(0, kHeaderScanLimit);
  std::size_t pos = 0;
  while (pos < message.size()) {
    const auto eol = message.find("\r\n", pos);
    const auto line = message.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    if (line.empty()) return {};  // end of the header block
    if (line.size() > name.size() && line[name.size()] == ':' &&
        smtp::equalsIgnoreCase(line.substr(0, name.size()), name)) {
      std::string value(line.substr(name.size() + 1));
      for (auto next = eol; next != std::string_view::npos && next + 2 < message.size() &&
                            (message[next + 2] == ' ' || message[next + 2] == '\t');) {
        const auto end = message.find("\r\n", next + 2);
        value += ' ';
        value += smtp::trim(
            message.substr(next + 2, end == std::string_view::npos ? end : end - next - 2));
        next = end;
      }
      return std::string(smtp::trim(value));
    }
    if (eol == std::string_view::npos) return {};
    pos = eol + 2;
  }
  return {};
}

}  // namespace spamgate::policy
