// parseMessage(): our header block parser for the top-level fields, GMime for the MIME tree and
// transfer decodings, then the views built within the limits.
#include "mime/message.h"

#include <gmime/gmime.h>

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/ascii.h"
#include "mime/detail.h"

namespace spamgate::mime {
namespace detail {

void ensureGMime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

}  // namespace detail
namespace {

using detail::UriSet;

struct GObjectDeleter {
  void operator()(void* object) const { g_object_unref(object); }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectDeleter>;

// Where GMime's input ends. Every level of nesting and every part costs GMime a line that
// starts with "--" (a delimiter) or a Content-Type field; past `max_lines` of those the rest of
// the message is cut before GMime sees it, so that 100,000 parts or nesting 100,000 deep cost
// no more than the limits allow (GMime's parser recurses once per level).
std::size_t structureCut(std::string_view raw, std::size_t max_lines) {
  std::size_t count = 0;
  for (std::size_t pos = 0; pos < raw.size();) {
    const std::string_view line = raw.substr(pos, 13);
    if (line.starts_with("--") || base::equalsIgnoreCase(line, "content-type:")) {
      if (++count > max_lines) return pos;
    }
    const auto lf = raw.find('\n', pos);
    if (lf == std::string_view::npos) break;
    pos = lf + 1;
  }
  return raw.size();
}

// The bytes of a well-formed base64 body: the alphabet, padding and line breaks.
constexpr std::array<bool, 256> kBase64Text = [] {
  std::array<bool, 256> table{};
  for (char c : std::string_view("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789+/= \t\r\n")) {
    table[static_cast<unsigned char>(c)] = true;
  }
  return table;
}();

bool isWhitespace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

// Lines joined into paragraphs (a blank line ends one), whitespace runs collapsed: each
// paragraph becomes one line of the result.
std::string paragraphs(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 1);
  std::size_t paragraph_start = 0;  // where the open paragraph begins in `out`
  std::size_t line_start = 0;       // out.size() when the current line began
  bool space = false;
  for (char c : text) {
    if (c == '\n') {
      const bool blank = out.size() == line_start;
      if (blank && out.size() > paragraph_start) {
        out += '\n';
        paragraph_start = out.size();
      }
      space = !blank || space;
      if (out.size() == paragraph_start) space = false;
      line_start = out.size();
    } else if (isWhitespace(c)) {
      space = out.size() > paragraph_start;
    } else {
      if (space) out += ' ';
      space = false;
      out += c;
    }
  }
  if (out.size() > paragraph_start) out += '\n';
  return out;
}

std::string withoutCr(std::string text) {
  std::erase(text, '\r');  // CRLF and bare CR alike: rules see LF line ends
  return text;
}

class Views {
 public:
  Views(Message& message, const Limits& limits) : message_(message), limits_(limits) {}

  void addSubject(std::string_view subject) { append(message_.body, paragraphs(subject)); }

  void addText(const std::string& text, bool html, UriSet& uris) {
    if (!message_.rawbody.empty()) append(message_.rawbody, "\n");
    append(message_.rawbody, partCap(text, limits_.rawbody_part_scan_bytes, '>'));
    if (!html) {
      addBody(paragraphs(text));
      uris.scanText(text);
      return;
    }
    detail::HtmlText rendered = detail::renderHtml(text);
    addBody(paragraphs(rendered.text));
    for (const std::string& link : rendered.links)
      uris.add(link);
    uris.scanText(rendered.text);
  }

 private:
  // A part's paragraphs, cut to its scan size, end with a line break as uncut ones do.
  void addBody(std::string_view rendered) {
    const std::string_view part = partCap(rendered, limits_.body_part_scan_bytes, ' ');
    append(message_.body, part);
    if (!part.empty() && part.back() != '\n') append(message_.body, "\n");
  }

  // One part's text cut to about `cap` bytes, as SpamAssassin cuts it: just after the first
  // line break, else the first `other`, found within 1 KiB past `cap`; else at `cap`.
  std::string_view partCap(std::string_view text, std::size_t cap, char other) {
    if (cap == 0 || text.size() <= cap) return text;
    message_.stats.truncated = true;
    constexpr std::size_t kSlack = 1024;
    for (char boundary : {'\n', other}) {
      const std::size_t at = text.find(boundary, cap);
      if (at != std::string_view::npos && at - cap <= kSlack) return text.substr(0, at + 1);
    }
    return text.substr(0, detail::utf8Cut(text, cap));
  }

  void append(std::string& view, std::string_view text) {
    const std::size_t room = limits_.max_text_bytes - std::min(view.size(), limits_.max_text_bytes);
    const std::size_t take = detail::utf8Cut(text, room);
    if (take < text.size()) message_.stats.truncated = true;
    view.append(text.substr(0, take));
  }

  Message& message_;
  const Limits& limits_;
};

class Walker {
 public:
  Walker(Message& message, const Limits& limits, UriSet& uris)
      : stats_(message.stats), limits_(limits), uris_(uris), views_(message, limits) {}

  Views& views() { return views_; }

  void visit(GMimeObject* object, std::size_t depth) {
    if (object == nullptr || stopped_) return;
    if (depth > limits_.max_depth) {
      stats_.truncated = true;
      return;
    }
    stats_.depth = std::max(stats_.depth, depth);
    if (GMIME_IS_MESSAGE_PART(object)) {
      GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
      if (inner != nullptr) visit(g_mime_message_get_mime_part(inner), depth + 1);
    } else if (GMIME_IS_MULTIPART(object)) {
      GMimeMultipart* multipart = GMIME_MULTIPART(object);
      const int count = g_mime_multipart_get_count(multipart);
      for (int i = 0; i < count && !stopped_; ++i) {
        visit(g_mime_multipart_get_part(multipart, i), depth + 1);
      }
    } else if (GMIME_IS_PART(object)) {
      leaf(GMIME_PART(object));
    }
  }

  // The text after the header block, when GMime finds no message in the input.
  void plainBody(std::string_view bytes) {
    if (stats_.parts >= limits_.max_parts) {
      stats_.truncated = true;
      return;
    }
    ++stats_.parts;
    addText(bytes, "", false);
  }

 private:
  void leaf(GMimePart* part) {
    if (stats_.parts >= limits_.max_parts) {
      stats_.truncated = true;
      stopped_ = true;
      return;
    }
    ++stats_.parts;
    GMimeObject* object = GMIME_OBJECT(part);
    GMimeContentType* type = g_mime_object_get_content_type(object);
    if (type == nullptr || !g_mime_content_type_is_type(type, "text", "*")) return;
    const char* charset = g_mime_object_get_content_type_parameter(object, "charset");
    addText(decoded(part), charset != nullptr ? charset : "",
            g_mime_content_type_is_type(type, "text", "html"));
  }

  void addText(std::string_view bytes, std::string_view charset, bool html) {
    bool error = false;
    std::string text = withoutCr(detail::toUtf8(bytes, charset, error));
    if (error) ++stats_.decode_errors;
    views_.addText(text, html, uris_);
  }

  std::string decoded(GMimePart* part) {
    GMimeDataWrapper* content = g_mime_part_get_content(part);
    if (content == nullptr) return {};
    if (g_mime_part_get_content_encoding(part) == GMIME_CONTENT_ENCODING_BASE64 &&
        !cleanBase64(g_mime_data_wrapper_get_stream(content))) {
      ++stats_.decode_errors;  // GMime skips the stray characters; the rest still decodes
    }
    GObjectPtr<GMimeStream> out(g_mime_stream_mem_new());
    if (g_mime_data_wrapper_write_to_stream(content, out.get()) < 0) ++stats_.decode_errors;
    const GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
    return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
  }

  static bool cleanBase64(GMimeStream* stream) {
    if (stream == nullptr || g_mime_stream_reset(stream) < 0) return true;
    char buffer[4096];
    bool clean = true;
    gssize n = 0;
    while (clean && (n = g_mime_stream_read(stream, buffer, sizeof buffer)) > 0) {
      const std::string_view chunk(buffer, static_cast<std::size_t>(n));
      clean = std::all_of(chunk.begin(), chunk.end(),
                          [](char c) { return kBase64Text[static_cast<unsigned char>(c)]; });
    }
    g_mime_stream_reset(stream);
    return clean;
  }

  Stats& stats_;
  const Limits& limits_;
  UriSet& uris_;
  Views views_;
  bool stopped_ = false;
};

GObjectPtr<GMimeMessage> gmimeParse(std::string_view raw) {
  GObjectPtr<GMimeStream> stream(
      g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));  // a copy, owned by stream
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  return GObjectPtr<GMimeMessage>(g_mime_parser_construct_message(parser.get(), nullptr));
}

}  // namespace

Message parseMessage(std::string_view raw, const Limits& limits) {
  detail::ensureGMime();
  Message message;
  detail::HeaderBlock block = detail::parseHeaderBlock(raw, limits.max_header_bytes);
  message.headers = std::move(block.headers);
  message.stats.truncated = block.truncated;

  UriSet uris(limits.max_uris);
  Walker walker(message, limits, uris);
  if (const auto subject = headerValues(message, "Subject"); !subject.empty()) {
    walker.views().addSubject(subject.front());
  }
  const std::size_t max_lines = 4 * (limits.max_parts + limits.max_depth) + 64;
  const std::size_t cut = structureCut(raw, max_lines);
  if (cut < raw.size()) message.stats.truncated = true;
  const GObjectPtr<GMimeMessage> parsed = gmimeParse(raw.substr(0, cut));
  if (parsed != nullptr && g_mime_message_get_mime_part(parsed.get()) != nullptr) {
    walker.visit(g_mime_message_get_mime_part(parsed.get()), 0);
  } else if (block.body_offset < cut) {
    walker.plainBody(raw.substr(block.body_offset, cut - block.body_offset));
  }
  message.uris = uris.take();
  if (uris.truncated()) message.stats.truncated = true;
  return message;
}

std::vector<std::string_view> headerValues(const Message& message, std::string_view name) {
  std::vector<std::string_view> values;
  for (const Header& header : message.headers) {
    if (base::equalsIgnoreCase(header.name, name)) values.emplace_back(header.decoded);
  }
  return values;
}

}  // namespace spamgate::mime
