#include "auth/dkim_signature.h"

#include <algorithm>
#include <cctype>

namespace spamgate::auth {

namespace {

constexpr std::string_view kFieldName = "dkim-signature";
constexpr std::size_t kHeaderBLength = 8;  // RFC 6008 section 4

bool isFws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trimFws(std::string_view text) {
  while (!text.empty() && isFws(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && isFws(text.back()))
    text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// tag-name = ALPHA *ALNUMPUNC
bool validName(std::string_view name) {
  if (name.empty() || !isAlpha(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return isAlpha(c) || isDigit(c) || c == '_'; });
}

// VALCHAR and FWS; octets above 0x7f too (UTF-8 identities, RFC 8616).
bool validValue(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    const auto octet = static_cast<unsigned char>(c);
    return isFws(c) || (octet > 0x20 && octet != 0x7f && octet != ';');
  });
}

bool fail(std::string* error, const char* reason) {
  if (error != nullptr) *error = reason;
  return false;
}

// One tag-spec, already cut at ';'. An empty spec is left to the caller.
bool addSpec(TagList& list, std::string_view spec, std::string* error) {
  const std::size_t equals = spec.find('=');
  if (equals == std::string_view::npos) return fail(error, "tag without '='");
  const std::string_view name = trimFws(spec.substr(0, equals));
  const std::string_view value = trimFws(spec.substr(equals + 1));
  if (!validName(name)) return fail(error, "bad tag name");
  if (!validValue(value)) return fail(error, "bad octet in tag value");
  if (list.find(name) != nullptr) return fail(error, "duplicate tag");
  if (list.tags.size() == TagList::kMaxTags) return fail(error, "too many tags");
  list.tags.emplace_back(std::string(name), std::string(value));
  return true;
}

bool isDkimField(std::string_view field, std::string_view& value) {
  const std::size_t colon = field.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view name = field.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
    name.remove_suffix(1);
  if (name.size() != kFieldName.size() || lower(name) != kFieldName) return false;
  value = field.substr(colon + 1);
  return true;
}

DkimSignature makeSignature(std::string_view value) {
  DkimSignature signature;
  std::string error;
  const std::optional<TagList> tags = parseTagList(value, &error);
  if (!tags) {
    signature.error = "signature syntax: " + error;
    return signature;
  }
  auto tag = [&](std::string_view name) {
    const std::string* found = tags->find(name);
    return found != nullptr ? *found : std::string();
  };
  signature.domain = lower(tag("d"));
  signature.selector = tag("s");
  signature.algorithm = lower(tag("a"));
  signature.identity = tag("i");
  signature.query = lower(tag("q"));
  signature.b = withoutWhitespace(tag("b"));
  signature.header_b = signature.b.substr(0, std::min(signature.b.size(), kHeaderBLength));
  if (signature.selector.empty()) signature.error = "signature syntax: no s=";
  if (signature.domain.empty()) signature.error = "signature syntax: no d=";
  return signature;
}

void addField(DkimSignatures& found, std::string_view field, std::size_t max) {
  std::string_view value;
  if (!isDkimField(field, value)) return;
  ++found.seen;
  if (found.signatures.size() < max) found.signatures.push_back(makeSignature(value));
}

}  // namespace

const std::string* TagList::find(std::string_view name) const {
  for (const auto& [tag, value] : tags) {
    if (tag == name) return &value;
  }
  return nullptr;
}

std::optional<TagList> parseTagList(std::string_view text, std::string* error) {
  TagList list;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t end = text.find(';', pos);
    const std::string_view spec =
        end == std::string_view::npos ? text.substr(pos) : text.substr(pos, end - pos);
    const bool last = end == std::string_view::npos;
    if (trimFws(spec).empty()) {
      // Only the spec after a final ";" (or of an empty list) may be empty.
      if (!last) {
        fail(error, "empty tag-spec");
        return std::nullopt;
      }
    } else if (!addSpec(list, spec, error)) {
      return std::nullopt;
    }
    if (last) break;
    pos = end + 1;
  }
  return list;
}

std::string DkimSignature::keyName() const {
  if (!error.empty()) return {};
  return lower(selector) + "._domainkey." + domain;
}

std::string withoutWhitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (!isFws(c)) out.push_back(c);
  }
  return out;
}

DkimSignatures findDkimSignatures(std::string_view message, std::size_t max) {
  DkimSignatures found;
  std::string field;  // the current field, unfolded
  std::size_t pos = 0;
  while (pos < message.size()) {
    std::size_t end = message.find('\n', pos);
    if (end == std::string_view::npos) end = message.size();
    std::string_view line = message.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    if (line.empty()) break;  // end of the header block
    if (line.front() == ' ' || line.front() == '\t') {
      if (!field.empty()) field.append(line);
      continue;
    }
    addField(found, field, max);
    field.assign(line);
  }
  addField(found, field, max);
  return found;
}

}  // namespace spamgate::auth
