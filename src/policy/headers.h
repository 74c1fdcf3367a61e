// Header stamping for messages spamgate passes on: the Received trace header (RFC 5321 4.4),
// the X-Spam headers for tagged mail, and reading a header field from the message.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "policy/verdict.h"

namespace spamgate::policy {

struct ReceivedInfo {
  std::string helo;
  std::string client_ip;
  std::string client_name;  // verified reverse name, or empty
  std::string hostname;     // ours
  std::string protocol;     // RFC 3848: SMTP, ESMTP, ESMTPS, UTF8SMTPS, ...
  std::string tls;          // "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384", or empty
  std::string id;           // our decision id
  std::string recipient;    // named only when there is exactly one
  std::time_t when = 0;
};

// "Received: from ... by ... with ... id ...; date\r\n", folded below 78 columns.
std::string receivedHeader(const ReceivedInfo& info);
// SpamAssassin's headers, CRLF-terminated: "X-Spam-Flag: YES" (spam only), "X-Spam-Score: 7.3",
// "X-Spam-Status: Yes, score=7.3 required=5.0 tests=A,B,C" (folded; each symbol named once,
// "tests=none" without any).
std::string spamHeaders(bool spam, double score, double threshold,
                        const std::vector<Symbol>& symbols);
// The unfolded value of the first `name:` field in the header block, without outer spaces;
// empty if absent. Bounded to the first 64 KiB of headers.
std::string headerValue(std::string_view message, std::string_view name);
// RFC 5322 date-time in UTC ("Mon, 30 Nov 2026 01:44:18 +0000").
std::string rfc5322Date(std::time_t when);

}  // namespace spamgate::policy
