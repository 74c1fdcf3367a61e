// The message as the backend receives it: spamgate's own header fields on top, then the
// peer's message without the fields only spamgate may write (X-Spam-* of any origin, and
// Authentication-Results that claim our authserv-id, RFC 8601 section 5), with the subject
// prefix on a tagged message. Everything else stays byte for byte.
#pragma once

#include <string>
#include <string_view>

namespace spamgate::policy {

struct Rewrite {
  std::string_view authserv_id;     // Authentication-Results claiming it are dropped
  std::string_view subject_prefix;  // "" for none; added once (not twice on a resend)
};

// `ours`: the CRLF-terminated fields spamgate adds (Received, Authentication-Results, X-Spam-*).
std::string stampMessage(std::string_view ours, std::string_view message, const Rewrite& rewrite);

}  // namespace spamgate::policy
