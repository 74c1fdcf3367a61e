// findDkimSignatures / parseTagList on arbitrary header blocks. Invariants: never more
// signatures kept than asked and never more than seen; a signature without error has d= and s=
// (d= in lower case), a key name that ends in "._domainkey." + d=, b= without whitespace, and
// header_b its first 8 characters; every accepted tag list has distinct, bounded names.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/dkim_signature.h"

namespace {

using namespace spamgate::auth;

constexpr std::size_t kMax = 4;

void check(bool ok) {
  if (!ok) std::abort();
}

void checkSignature(const DkimSignature& signature) {
  check(signature.header_b == signature.b.substr(0, 8));
  check(signature.b.find_first_of(" \t\r\n") == std::string::npos);
  if (!signature.error.empty()) {
    check(signature.keyName().empty());
    return;
  }
  check(!signature.domain.empty() && !signature.selector.empty());
  for (char c : signature.domain)
    check(!(c >= 'A' && c <= 'Z'));
  const std::string suffix = "._domainkey." + signature.domain;
  const std::string key = signature.keyName();
  check(key.size() > suffix.size() &&
        key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0);
}

void checkTagList(std::string_view text) {
  const auto list = parseTagList(text);
  if (!list) return;
  check(list->tags.size() <= TagList::kMaxTags);
  for (std::size_t i = 0; i < list->tags.size(); ++i) {
    check(!list->tags[i].first.empty());
    check(list->find(list->tags[i].first) == &list->tags[i].second);  // names are distinct
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const DkimSignatures found = findDkimSignatures(input, kMax);
  check(found.signatures.size() <= kMax);
  check(found.signatures.size() <= found.seen);
  for (const DkimSignature& signature : found.signatures)
    checkSignature(signature);
  checkTagList(input);
  return 0;
}
