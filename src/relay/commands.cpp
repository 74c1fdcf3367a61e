#include "relay/commands.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace spamgate::relay {

namespace {

constexpr std::size_t kMaxCommandLine = 512;  // RFC 5321 4.5.3.1.4, including CRLF
constexpr std::string_view kUnavailable = "[UNAVAILABLE]";

char upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string toUpper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), upper);
  return out;
}

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t start = s.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos) break;
    std::size_t end = s.find_first_of(" \t", start);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(toUpper(s.substr(start, end - start)));
    pos = end;
  }
  return out;
}

void applyKeyword(Capabilities& caps, const std::vector<std::string>& w) {
  const std::string& key = w[0];
  if (key == "PIPELINING") {
    caps.pipelining = true;
  } else if (key == "SIZE") {
    caps.size = true;
    if (w.size() > 1) {
      const std::string& arg = w[1];
      uint64_t n = 0;
      auto [ptr, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), n);
      if (ec == std::errc{} && ptr == arg.data() + arg.size()) caps.size_limit = n;
    }
  } else if (key == "8BITMIME") {
    caps.eightbitmime = true;
  } else if (key == "SMTPUTF8") {
    caps.smtputf8 = true;
  } else if (key == "STARTTLS") {
    caps.starttls = true;
  } else if (key == "XCLIENT") {
    caps.xclient.assign(w.begin() + 1, w.end());
  } else if (key == "XFORWARD") {
    caps.xforward.assign(w.begin() + 1, w.end());
  }
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string addrValue(const std::string& addr) {
  if (addr.empty()) return std::string(kUnavailable);
  return addr.find(':') != std::string::npos ? "IPV6:" + addr : addr;
}

std::string orUnavailable(const std::string& s) {
  return s.empty() ? std::string(kUnavailable) : xtext(s);
}

struct Attr {
  std::string_view name;
  std::string value;
};

// "VERB A=x B=y\r\n" with the attributes the server knows; "" when none.
std::string attrCommand(std::string_view verb, const std::vector<Attr>& attrs,
                        const std::vector<std::string>& known) {
  std::string line(verb);
  bool any = false;
  for (const Attr& a : attrs) {
    if (!contains(known, a.name)) continue;
    line += ' ';
    line += a.name;
    line += '=';
    line += a.value;
    any = true;
  }
  return any ? line + "\r\n" : std::string{};
}

std::string portValue(uint16_t port) {
  return port == 0 ? std::string(kUnavailable) : std::to_string(port);
}

}  // namespace

bool Capabilities::hasXclient(std::string_view attr) const {
  return contains(xclient, attr);
}
bool Capabilities::hasXforward(std::string_view attr) const {
  return contains(xforward, attr);
}

Capabilities parseCapabilities(const smtp::Reply& ehlo) {
  Capabilities caps;
  caps.esmtp = true;
  std::string_view text = ehlo.text;
  bool first = true;
  while (!text.empty() || first) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!first) {
      auto w = words(line);
      if (!w.empty()) applyKeyword(caps, w);
    }
    first = false;
  }
  return caps;
}

std::string xtext(std::string_view value) {
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'};
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (u < '!' || u > '~' || c == '+' || c == '=') {
      out += '+';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

std::string xclientCommand(const ClientInfo& client, const Capabilities& caps) {
  std::vector<Attr> attrs = {
      {"NAME", orUnavailable(client.name)},       {"ADDR", addrValue(client.addr)},
      {"PORT", portValue(client.port)},           {"HELO", orUnavailable(client.helo)},
      {"PROTO", client.esmtp ? "ESMTP" : "SMTP"},
  };
  std::string line = attrCommand("XCLIENT", attrs, caps.xclient);
  if (line.size() > kMaxCommandLine) {
    attrs[3].value = std::string(kUnavailable);
    line = attrCommand("XCLIENT", attrs, caps.xclient);
  }
  return line;
}

std::vector<std::string> xforwardCommands(const ClientInfo& client, const Capabilities& caps) {
  std::vector<Attr> first = {
      {"NAME", orUnavailable(client.name)},
      {"ADDR", addrValue(client.addr)},
      {"PORT", portValue(client.port)},
  };
  std::vector<Attr> second = {
      {"PROTO", client.esmtp ? "ESMTP" : "SMTP"},
      {"HELO", orUnavailable(client.helo)},
      {"SOURCE", "REMOTE"},
  };
  std::vector<std::string> out;
  for (const auto* attrs : {&first, &second}) {
    std::string line = attrCommand("XFORWARD", *attrs, caps.xforward);
    if (line.size() > kMaxCommandLine && attrs == &second) {
      second[1].value = std::string(kUnavailable);
      line = attrCommand("XFORWARD", *attrs, caps.xforward);
    }
    if (!line.empty()) out.push_back(std::move(line));
  }
  return out;
}

std::string mailCommand(std::string_view reverse_path, std::string_view params,
                        std::optional<uint64_t> size, const Capabilities& caps) {
  std::string line = "MAIL FROM:<";
  line += reverse_path;
  line += '>';
  if (caps.size && size) line += " SIZE=" + std::to_string(*size);
  if (!params.empty()) {
    line += ' ';
    line += params;
  }
  return line + "\r\n";
}

std::string withoutSize(std::string_view params, std::optional<uint64_t>& size) {
  size.reset();
  std::string out;
  std::size_t pos = 0;
  while (pos < params.size()) {
    std::size_t start = params.find_first_not_of(' ', pos);
    if (start == std::string_view::npos) break;
    std::size_t end = std::min(params.find(' ', start), params.size());
    std::string_view word = params.substr(start, end - start);
    pos = end;
    if (word.size() > 5 && toUpper(word.substr(0, 5)) == "SIZE=") {
      uint64_t n = 0;
      auto [ptr, ec] = std::from_chars(word.data() + 5, word.data() + word.size(), n);
      if (ec == std::errc{} && ptr == word.data() + word.size()) size = n;
      continue;
    }
    if (!out.empty()) out += ' ';
    out += word;
  }
  return out;
}

std::string rcptCommand(std::string_view forward_path, std::string_view params) {
  std::string line = "RCPT TO:<";
  line += forward_path;
  line += '>';
  if (!params.empty()) {
    line += ' ';
    line += params;
  }
  return line + "\r\n";
}

void appendDotStuffed(std::string& out, std::string_view message) {
  out.reserve(out.size() + message.size() + message.size() / 64 + 5);
  std::size_t pos = 0;
  while (pos < message.size()) {
    if (message[pos] == '.') out += '.';
    std::size_t nl = message.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? message.size() : nl + 1;
    out.append(message.substr(pos, end - pos));
    pos = end;
  }
  if (!message.empty() && !message.ends_with("\r\n")) {
    if (message.back() == '\r') out.pop_back();  // a lone trailing CR becomes the CRLF
    out += "\r\n";
  }
  out += ".\r\n";
}

std::string queueIdFrom(std::string_view text) {
  static constexpr std::string_view kMarker = "queued as ";
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  std::size_t at = lower.find(kMarker);
  if (at == std::string::npos) return {};
  std::size_t start = at + kMarker.size();
  std::size_t end = start;
  while (end < text.size()) {
    char c = text[end];
    bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              c == '-' || c == '_' || c == '.' || c == '@';
    if (!ok) break;
    ++end;
  }
  std::string id(text.substr(start, end - start));
  while (!id.empty() && id.back() == '.')
    id.pop_back();  // "queued as ABC."
  return id;
}

}  // namespace spamgate::relay
