#include "policy/rewrite.h"

#include "auth/authentication_results.h"
#include "auth/from_header.h"
#include "base/ascii.h"

namespace spamgate::policy {

namespace {

bool ours(const auth::HeaderField& field, std::string_view authserv_id) {
  if (base::startsWithIgnoreCase(field.name, "X-Spam-")) return true;
  if (!base::equalsIgnoreCase(field.name, "Authentication-Results")) return false;
  return auth::claimsAuthservId(field.value, authserv_id);
}

// The Subject value with the prefix in front, unless it already starts with it.
std::string prefixed(std::string_view value, std::string_view prefix) {
  std::size_t lead = 0;
  while (lead < value.size() && (value[lead] == ' ' || value[lead] == '\t'))
    ++lead;
  if (value.substr(lead).substr(0, prefix.size()) == prefix) return std::string(value);
  // Appended piece by piece: GCC 12 -O3 warns (-Wrestrict, a false positive) on
  // `" " + std::string(...)`.
  std::string out(" ");
  out.append(prefix);
  if (lead < value.size()) out.push_back(' ');
  out.append(value.substr(lead));
  return out;
}

}  // namespace

std::string stampMessage(std::string_view ours_fields, std::string_view message,
                         const Rewrite& rewrite) {
  std::string out;
  out.reserve(ours_fields.size() + message.size() + rewrite.subject_prefix.size() + 16);
  out += ours_fields;
  bool subject_seen = false;
  std::size_t copied = 0;  // message bytes before this offset are handled
  for (const auth::HeaderField& field : auth::headerFields(message)) {
    const bool subject = !rewrite.subject_prefix.empty() && !subject_seen &&
                         base::equalsIgnoreCase(field.name, "Subject");
    if (!subject && !ours(field, rewrite.authserv_id)) continue;
    out.append(message.substr(copied, field.begin - copied));
    copied = field.end;
    if (!subject) continue;
    subject_seen = true;
    const std::string_view eol =
        message.substr(field.begin + field.name.size() + 1 + field.value.size(),
                       field.end - field.begin - field.name.size() - 1 - field.value.size());
    out.append(field.name).append(":").append(prefixed(field.value, rewrite.subject_prefix));
    out += eol.empty() ? std::string_view("\r\n") : eol;
  }
  if (!rewrite.subject_prefix.empty() && !subject_seen) {
    out.append("Subject: ").append(rewrite.subject_prefix).append("\r\n");
  }
  out.append(message.substr(copied));
  return out;
}

}  // namespace spamgate::policy
