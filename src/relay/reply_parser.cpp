#include "relay/reply_parser.h"

namespace spamgate::relay {

namespace {

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// Length of a run of 1-3 digits at `pos`, 0 if none or more than 3.
std::size_t digitRun(std::string_view s, std::size_t pos) {
  std::size_t n = 0;
  while (pos + n < s.size() && isDigit(s[pos + n]))
    ++n;
  return n >= 1 && n <= 3 ? n : 0;
}

// The code of a reply line, or 0 when the line does not start with one in 200-599.
int lineCode(std::string_view line) {
  if (line.size() < 3 || !isDigit(line[0]) || !isDigit(line[1]) || !isDigit(line[2])) return 0;
  if (line[0] < '2' || line[0] > '5' || line[1] > '5') return 0;
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return 0;
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

}  // namespace

std::pair<std::string_view, std::string_view> splitEnhanced(int code, std::string_view text) {
  if (text.size() < 5 || text[0] != static_cast<char>('0' + code / 100) || text[1] != '.') {
    return {{}, text};
  }
  std::size_t subject = digitRun(text, 2);
  if (subject == 0 || 2 + subject >= text.size() || text[2 + subject] != '.') return {{}, text};
  std::size_t detail_pos = 3 + subject;
  std::size_t detail = digitRun(text, detail_pos);
  std::size_t end = detail_pos + detail;
  if (detail == 0 || (end < text.size() && text[end] != ' ')) return {{}, text};
  std::string_view rest = text.substr(end);
  if (!rest.empty()) rest.remove_prefix(1);
  return {text.substr(0, end), rest};
}

ReplyParser::Status ReplyParser::feed(std::string_view& in) {
  if (failed_) return Status::Error;
  while (!in.empty()) {
    std::size_t nl = in.find('\n');
    std::size_t take = nl == std::string_view::npos ? in.size() : nl;
    // Bound before buffering: the CR of a CRLF may be the octet past the limit.
    if (partial_.size() + take > kMaxReplyLine + 1) {
      return fail("reply line longer than " + std::to_string(kMaxReplyLine) + " octets");
    }
    partial_.append(in.substr(0, take));
    if (nl == std::string_view::npos) {
      in.remove_prefix(take);
      return Status::NeedMore;
    }
    in.remove_prefix(nl + 1);
    std::string line = std::move(partial_);
    partial_.clear();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > kMaxReplyLine) {
      return fail("reply line longer than " + std::to_string(kMaxReplyLine) + " octets");
    }
    Status status = onLine(line);
    if (status != Status::NeedMore) return status;
  }
  return Status::NeedMore;
}

ReplyParser::Status ReplyParser::onLine(std::string_view line) {
  int code = lineCode(line);
  if (code == 0) return fail("malformed reply line");
  if (reply_.code != 0 && code != reply_.code) return fail("reply code changed within a reply");
  if (++lines_ > kMaxReplyLines) {
    return fail("reply longer than " + std::to_string(kMaxReplyLines) + " lines");
  }
  std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};
  if (reply_.code == 0) {
    reply_.code = code;
    auto [enhanced, rest] = splitEnhanced(code, text);
    reply_.enhanced = std::string(enhanced);
    text = rest;
  } else {
    reply_.text += '\n';
    auto [enhanced, rest] = splitEnhanced(code, text);
    if (!enhanced.empty() && enhanced == reply_.enhanced) text = rest;
  }
  reply_.text.append(text);
  bool last = line.size() == 3 || line[3] == ' ';
  if (!last) return Status::NeedMore;
  complete_ = true;
  return Status::Complete;
}

smtp::Reply ReplyParser::take() {
  smtp::Reply out;
  if (!complete_) return out;
  out = std::move(reply_);
  reply_ = smtp::Reply{};
  lines_ = 0;
  complete_ = false;
  return out;
}

ReplyParser::Status ReplyParser::fail(std::string why) {
  failed_ = true;
  error_ = std::move(why);
  return Status::Error;
}

}  // namespace spamgate::relay
