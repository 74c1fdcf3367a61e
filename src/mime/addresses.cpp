// mailboxes(): address lists parsed by GMime (RFC 5322 with its leniency for real mail),
// display names decoded.
#include <gmime/gmime.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mime/detail.h"
#include "mime/message.h"

namespace spamgate::mime {
namespace {

constexpr std::size_t kMaxMailboxes = 1000;

std::string validName(const char* name) {
  std::string out;
  if (name != nullptr) detail::appendValidUtf8(out, name);
  return out;
}

void collect(InternetAddressList* list, std::vector<Mailbox>& out, bool in_group) {
  const int count = internet_address_list_length(list);
  for (int i = 0; i < count && out.size() < kMaxMailboxes; ++i) {
    InternetAddress* address = internet_address_list_get_address(list, i);
    const std::string name = validName(internet_address_get_name(address));
    if (INTERNET_ADDRESS_IS_MAILBOX(address)) {
      const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address));
      out.push_back({name, validName(addr)});
    } else if (INTERNET_ADDRESS_IS_GROUP(address) && !in_group) {
      InternetAddressList* members =
          internet_address_group_get_members(INTERNET_ADDRESS_GROUP(address));
      if (members == nullptr || internet_address_list_length(members) == 0) {
        out.push_back({name, {}});
      } else {
        collect(members, out, true);
      }
    }
  }
}

}  // namespace

std::vector<Mailbox> mailboxes(std::string_view value) {
  detail::ensureGMime();
  std::string text(value);
  for (char& c : text) {
    if (c == '\0') c = ' ';
  }
  std::vector<Mailbox> out;
  InternetAddressList* list = internet_address_list_parse(nullptr, text.c_str());
  if (list == nullptr) return out;
  collect(list, out, false);
  g_object_unref(list);
  return out;
}

}  // namespace spamgate::mime
