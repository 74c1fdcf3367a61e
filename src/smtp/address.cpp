#include "smtp/address.h"

#include <charconv>
#include <utility>

#include "smtp/command.h"

namespace spamgate::smtp {

namespace {

enum class Role { Sender, Recipient };

Reply badPath(Role role) {
  return role == Role::Sender ? makeReply(501, "5.1.7", "Bad sender address syntax")
                              : makeReply(501, "5.1.3", "Bad recipient address syntax");
}

bool isAtext(unsigned char c) {
  if (c >= 0x80) return true;  // UTF-8, checked against SMTPUTF8 separately
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
         std::string_view::npos;
}

// Printable ASCII but the brackets: RFC 5321 allows '<' and '>' in a quoted local part, but
// a relayed path must hold no bracket that a naive parser downstream could split on.
bool printableNoBracket(unsigned char c) {
  return c >= 0x20 && c < 0x7f && c != '<' && c != '>';
}

// qtextSMTP / quoted-pairSMTP (RFC 5321 4.1.2), UTF-8 allowed in qtext (RFC 6531 3.3).
bool validQuotedString(std::string_view quoted) {
  if (quoted.size() < 2 || quoted.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < quoted.size(); ++i) {
    const auto c = static_cast<unsigned char>(quoted[i]);
    if (c == '\\') {
      if (++i + 1 >= quoted.size()) return false;
      if (!printableNoBracket(static_cast<unsigned char>(quoted[i]))) return false;
    } else if (c == '"' || (c < 0x80 && !printableNoBracket(c))) {
      return false;
    }
  }
  return true;
}

bool validLocalPart(std::string_view local) {
  if (local.empty()) return false;
  if (local.front() == '"') return validQuotedString(local);
  if (local.front() == '.' || local.back() == '.') return false;
  for (std::size_t i = 0; i < local.size(); ++i) {
    const auto c = static_cast<unsigned char>(local[i]);
    if (c == '.' ? local[i - 1] == '.' : !isAtext(c)) return false;
  }
  return true;
}

bool validDomain(std::string_view domain) {
  if (domain.empty()) return false;
  if (domain.front() == '[') {
    if (domain.back() != ']' || domain.size() < 3) return false;
    // IPv4, "IPv6:..." or "tag:..." (RFC 5321 4.1.3), narrowed to the octets they use.
    for (char c : domain.substr(1, domain.size() - 2)) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == ':' || c == '-';
      if (!ok) return false;
    }
    return true;
  }
  std::size_t label = 0;
  for (std::size_t i = 0; i < domain.size(); ++i) {
    const auto c = static_cast<unsigned char>(domain[i]);
    if (c == '.') {
      if (label == 0 || domain[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    const bool ok = c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || (c == '-' && label > 0);
    if (!ok || ++label > 63) return false;
  }
  return label > 0 && domain.back() != '-';
}

// Finds the '@' that separates local part and domain, outside a quoted local part.
std::size_t findAt(std::string_view mailbox) {
  bool quoted = false;
  for (std::size_t i = 0; i < mailbox.size(); ++i) {
    if (quoted && mailbox[i] == '\\') {
      ++i;
    } else if (mailbox[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && mailbox[i] == '@') {
      return i;
    }
  }
  return std::string_view::npos;
}

bool hasEightBit(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

// The closing '>' of a bracketed path, skipping quoted strings.
std::size_t findClose(std::string_view text) {
  bool quoted = false;
  for (std::size_t i = 1; i < text.size(); ++i) {
    if (quoted && text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && text[i] == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

struct SplitPath {
  std::string_view path;    // inside the brackets
  std::string_view params;  // after the path
  bool ok = false;
};

SplitPath splitPath(std::string_view text) {
  SplitPath split;
  if (text.empty()) return split;
  if (text.front() == '<') {
    const auto close = findClose(text);
    if (close == std::string_view::npos || close + 1 > kMaxPathLength) return split;
    split.path = text.substr(1, close - 1);
    split.params = text.substr(close + 1);
    split.ok = split.params.empty() || split.params.front() == ' ';
  } else {  // lenient: "MAIL FROM:a@b" as Postfix accepts it
    const auto space = text.find(' ');
    split.path = text.substr(0, space);
    split.params = space == std::string_view::npos ? std::string_view() : text.substr(space);
    split.ok = split.path.size() + 2 <= kMaxPathLength && split.path.find('<') == split.path.npos;
  }
  split.params = trim(split.params);
  return split;
}

// Validates "[@route,@route:]local@domain" and returns the mailbox without the route.
std::optional<std::string_view> mailbox(std::string_view path, Role role) {
  if (!path.empty() && path.front() == '@') {  // source route: accepted, ignored (RFC 5321 C)
    const auto colon = path.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    path.remove_prefix(colon + 1);
  }
  if (role == Role::Recipient && equalsIgnoreCase(path, "postmaster")) return path;
  const auto at = findAt(path);
  if (at == std::string_view::npos) return std::nullopt;
  if (!validLocalPart(path.substr(0, at)) || !validDomain(path.substr(at + 1))) {
    return std::nullopt;
  }
  return path;
}

std::optional<std::string_view> stripKeyword(std::string_view arg, std::string_view keyword) {
  if (!startsWithIgnoreCase(arg, keyword)) return std::nullopt;
  return trim(arg.substr(keyword.size()));
}

std::optional<uint64_t> parseSize(std::string_view value) {
  uint64_t size = 0;
  if (value.empty() || value.size() > 20) return std::nullopt;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), size);
  if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return size;
}

Reply badParam(std::string_view why) {
  return makeReply(501, "5.5.4", why);
}

// Applies one "KEY[=VALUE]" MAIL parameter; returns the error reply if it is not acceptable.
std::optional<Reply> applyMailParam(std::string_view param, MailArgs& args, unsigned& seen) {
  const auto eq = param.find('=');
  const auto key = param.substr(0, eq);
  const auto value = eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
  const bool has_value = eq != std::string_view::npos;
  auto once = [&seen](unsigned bit) { return (std::exchange(seen, seen | bit) & bit) == 0; };
  if (equalsIgnoreCase(key, "SIZE")) {
    args.size = parseSize(value);
    if (!args.size || !once(1)) return badParam("Bad SIZE parameter");
  } else if (equalsIgnoreCase(key, "BODY")) {
    if (!once(2)) return badParam("Duplicate BODY parameter");
    if (equalsIgnoreCase(value, "8BITMIME")) {
      args.body = BodyType::EightBitMime;
    } else if (!equalsIgnoreCase(value, "7BIT")) {
      return badParam("Bad BODY parameter (7BIT or 8BITMIME)");
    }
  } else if (equalsIgnoreCase(key, "SMTPUTF8")) {
    if (has_value || !once(4)) return badParam("SMTPUTF8 takes no value");
    args.smtputf8 = true;
  } else {
    return makeReply(555, "5.5.4", "Unsupported MAIL parameter");
  }
  return std::nullopt;
}

std::string relayParams(const MailArgs& args) {
  std::string out;
  if (args.body == BodyType::EightBitMime) out = "BODY=8BITMIME";
  if (args.smtputf8) out += out.empty() ? "SMTPUTF8" : " SMTPUTF8";
  return out;
}

std::optional<Reply> checkEightBit(std::string_view address, bool smtputf8) {
  if (!smtputf8 && hasEightBit(address)) {
    return makeReply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
  }
  return std::nullopt;
}

}  // namespace

std::variant<MailArgs, Reply> parseMailArgs(std::string_view arg) {
  const auto rest = stripKeyword(arg, "FROM:");
  if (!rest) return makeReply(501, "5.5.4", "Syntax: MAIL FROM:<address>");
  const auto split = splitPath(*rest);
  if (!split.ok) return badPath(Role::Sender);
  MailArgs args;
  if (!split.path.empty()) {
    const auto box = mailbox(split.path, Role::Sender);
    if (!box) return badPath(Role::Sender);
    args.reverse_path = std::string(*box);
  }
  unsigned seen = 0;
  std::string_view params = split.params;
  while (!params.empty()) {
    const auto space = params.find(' ');
    if (auto error = applyMailParam(params.substr(0, space), args, seen)) return *error;
    params = space == std::string_view::npos ? std::string_view() : trim(params.substr(space));
  }
  if (auto error = checkEightBit(args.reverse_path, args.smtputf8)) return *error;
  args.relay_params = relayParams(args);
  return args;
}

std::variant<RcptArgs, Reply> parseRcptArgs(std::string_view arg, bool smtputf8) {
  const auto rest = stripKeyword(arg, "TO:");
  if (!rest) return makeReply(501, "5.5.4", "Syntax: RCPT TO:<address>");
  const auto split = splitPath(*rest);
  if (!split.ok || split.path.empty()) return badPath(Role::Recipient);
  if (!split.params.empty()) return makeReply(555, "5.5.4", "Unsupported RCPT parameter");
  const auto box = mailbox(split.path, Role::Recipient);
  if (!box) return badPath(Role::Recipient);
  if (auto error = checkEightBit(*box, smtputf8)) return *error;
  return RcptArgs{std::string(*box)};
}

}  // namespace spamgate::smtp
