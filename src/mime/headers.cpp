// The top-level header block: fields split and unfolded here (so that raw values keep their
// bytes), RFC 2047 decoding by GMime.
#include <gmime/gmime.h>

#include <string>
#include <string_view>

#include "mime/detail.h"

namespace spamgate::mime::detail {
namespace {

bool isWsp(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// One physical line without its CR LF / LF, and the offset just past it.
struct Line {
  std::string_view text;
  std::size_t next = 0;
};

Line lineAt(std::string_view raw, std::size_t pos) {
  const auto lf = raw.find('\n', pos);
  const std::size_t end = lf == std::string_view::npos ? raw.size() : lf;
  std::string_view text = raw.substr(pos, end - pos);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return {text, lf == std::string_view::npos ? raw.size() : lf + 1};
}

bool validName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127) return false;
  }
  return true;
}

void addField(HeaderBlock& block, std::string_view line) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return;  // not a field: ignored, as a broken line
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && isWsp(name.back()))
    name.remove_suffix(1);  // "Subject :"
  if (!validName(name)) return;
  block.headers.push_back({std::string(name), std::string(line.substr(colon + 1)), {}});
}

}  // namespace

HeaderBlock parseHeaderBlock(std::string_view raw, std::size_t max_bytes) {
  HeaderBlock block;
  std::size_t pos = 0;
  bool in_field = false;
  while (pos < raw.size()) {
    const Line line = lineAt(raw, pos);
    if (line.text.empty()) {
      pos = line.next;
      break;
    }
    if (line.next > max_bytes) {
      block.truncated = true;
      break;
    }
    if (isWsp(line.text.front()) && in_field) {
      block.headers.back().raw.append(line.text);  // unfolding: the line break goes, WSP stays
    } else {
      const std::size_t before = block.headers.size();
      addField(block, line.text);
      in_field = block.headers.size() > before;
    }
    pos = line.next;
  }
  block.body_offset = pos;
  for (Header& header : block.headers) {
    header.raw = std::string(trim(header.raw));
    header.decoded = decodeHeaderText(header.raw);
  }
  return block;
}

std::string decodeHeaderText(std::string_view raw) {
  std::string text(raw);
  for (char& c : text) {
    if (c == '\0') c = ' ';  // GMime takes C strings
  }
  ensureGMime();
  char* decoded = g_mime_utils_header_decode_text(nullptr, text.c_str());
  std::string out;
  if (decoded == nullptr) {
    appendValidUtf8(out, text);
    return out;
  }
  appendValidUtf8(out, decoded);
  g_free(decoded);
  return out;
}

}  // namespace spamgate::mime::detail
