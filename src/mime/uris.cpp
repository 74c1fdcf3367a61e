// URI collection for the "uri" view: schemes SpamAssassin's uri rules look at, from text (a
// linear scan for scheme prefixes) and from HTML attribute values.
#include <array>
#include <string>
#include <string_view>

#include "base/ascii.h"
#include "mime/detail.h"

namespace spamgate::mime::detail {
namespace {

constexpr std::size_t kMaxUriBytes = 4096;
constexpr std::array<std::string_view, 4> kSchemes{"http://", "https://", "ftp://", "mailto:"};

// Bytes that may start a URI we look for: h(ttp), f(tp), m(ailto), w(ww), either case.
constexpr std::array<bool, 256> kStarts = [] {
  std::array<bool, 256> table{};
  for (char c : std::string_view("hfmwHFMW"))
    table[static_cast<unsigned char>(c)] = true;
  return table;
}();

bool isWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '/' || c == '-' || c == '_' || c == '@';
}

// Ends a URI in running text.
bool isStop(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u == 0x7F) return true;
  const std::string_view stops = "<>\"`{}|\\^";
  return stops.find(c) != std::string_view::npos;
}

std::string_view trimTrailingPunctuation(std::string_view uri) {
  while (!uri.empty()) {
    const char c = uri.back();
    const bool paren = (c == ')' && uri.find('(') == std::string_view::npos) ||
                       (c == ']' && uri.find('[') == std::string_view::npos);
    if (std::string_view(".,;:!?'*").find(c) == std::string_view::npos && !paren) break;
    uri.remove_suffix(1);
  }
  return uri;
}

// Length of the scheme prefix (or "www.") at the start of `text`, 0 if none.
std::size_t prefixLength(std::string_view text) {
  for (std::string_view scheme : kSchemes) {
    if (base::startsWithIgnoreCase(text, scheme)) return scheme.size();
  }
  return base::startsWithIgnoreCase(text, "www.") ? 4 : 0;
}

// A URI with enough after its prefix to name something.
bool plausible(std::string_view uri, std::size_t prefix) {
  const std::string_view rest = uri.substr(prefix);
  if (rest.empty() || rest.front() == '.' || rest.front() == '/') return false;
  if (base::startsWithIgnoreCase(uri, "mailto:")) return rest.find('@') != std::string_view::npos;
  if (base::startsWithIgnoreCase(uri, "www.")) return rest.find('.') != std::string_view::npos;
  return true;
}

}  // namespace

void UriSet::insert(std::string uri) {
  if (uri.size() > kMaxUriBytes) uri.resize(utf8Cut(uri, kMaxUriBytes));
  if (seen_.contains(uri)) return;
  if (uris_.size() >= max_) {
    truncated_ = true;
    return;
  }
  seen_.insert(uri);
  uris_.push_back(std::move(uri));
}

void UriSet::add(std::string_view value) {
  std::string uri;
  for (char c : value) {
    if (c != '\r' && c != '\n' && c != '\t') uri += c;  // attribute values may be folded
  }
  const auto first = uri.find_first_not_of(' ');
  const auto last = uri.find_last_not_of(' ');
  if (first == std::string::npos) return;
  uri = uri.substr(first, last - first + 1);
  if (uri.starts_with("//")) uri.insert(0, "http:");
  const std::size_t prefix = prefixLength(uri);
  if (prefix == 0 || !plausible(uri, prefix)) return;
  if (prefix == 4) uri.insert(0, "http://");  // www.
  insert(std::move(uri));
}

void UriSet::scanText(std::string_view text) {
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    if (!kStarts[static_cast<unsigned char>(text[pos])]) continue;
    if (pos > 0 && isWordChar(text[pos - 1])) continue;  // inside a word or a URI seen already
    const std::size_t prefix = prefixLength(text.substr(pos));
    if (prefix == 0) continue;
    std::size_t end = pos + prefix;
    while (end < text.size() && !isStop(text[end]))
      ++end;
    const std::string_view uri = trimTrailingPunctuation(text.substr(pos, end - pos));
    if (uri.size() > prefix && plausible(uri, prefix)) {
      insert(prefix == 4 ? "http://" + std::string(uri) : std::string(uri));
    }
    pos = end > pos ? end - 1 : pos;
  }
}

}  // namespace spamgate::mime::detail
