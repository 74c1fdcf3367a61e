// Internals of src/mime shared between its files: header block parsing, charset conversion,
// HTML rendering and URI collection. Pure functions over bytes; none of them throws on hostile
// input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "mime/message.h"

namespace spamgate::mime::detail {

// message.cpp: g_mime_init(), once per process, before any other GMime call.
void ensureGMime();

// headers.cpp: the header block at the start of `raw`, fields unfolded and decoded.
struct HeaderBlock {
  std::vector<Header> headers;
  std::size_t body_offset = 0;  // first byte after the empty line (or raw.size())
  bool truncated = false;       // the block was longer than max_bytes: later fields dropped
};
HeaderBlock parseHeaderBlock(std::string_view raw, std::size_t max_bytes);
std::string decodeHeaderText(std::string_view raw);  // RFC 2047, result in valid UTF-8

// charset.cpp
// `bytes` in `charset` to UTF-8; invalid sequences become U+FFFD. An empty or unknown charset
// takes the bytes as UTF-8 if they are, else as windows-1252. `error` is set when a charset
// was unknown or a byte could not be converted.
std::string toUtf8(std::string_view bytes, std::string_view charset, bool& error);
// Appends `bytes` with every invalid UTF-8 sequence (and NUL) replaced by U+FFFD.
void appendValidUtf8(std::string& out, std::string_view bytes);
bool isValidUtf8(std::string_view bytes);
// The longest prefix of `text` not longer than `max` that does not split a UTF-8 sequence.
std::size_t utf8Cut(std::string_view text, std::size_t max);

// html_text.cpp: HTML (already UTF-8) rendered to text: tags dropped, entities decoded,
// script/style content dropped, <br> a line break, block elements a blank line. The values of
// href, src and action attributes go to `links`, entities decoded.
struct HtmlText {
  std::string text;
  std::vector<std::string> links;
};
HtmlText renderHtml(std::string_view html);
// Appends the decoding of one entity body ("amp", "#39", "#x27") or returns false.
bool appendEntity(std::string& out, std::string_view name);

// uris.cpp: URIs in order of first sight, without duplicates, at most `max`.
class UriSet {
 public:
  explicit UriSet(std::size_t max) : max_(max) {}
  void add(std::string_view uri);        // an attribute value: kept if it has a scheme we track
  void scanText(std::string_view text);  // http://, https://, ftp://, mailto:, www.
  bool truncated() const { return truncated_; }
  std::vector<std::string> take() { return std::move(uris_); }

 private:
  void insert(std::string uri);

  std::size_t max_;
  bool truncated_ = false;
  std::vector<std::string> uris_;
  std::unordered_set<std::string> seen_;
};

}  // namespace spamgate::mime::detail
