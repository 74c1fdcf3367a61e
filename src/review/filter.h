// Which decisions a review looks at: the period and the operator's filters, all combined
// (AND; several --action values are alternatives).
//
// --from / --rcpt: a case-insensitive substring of the address ("example.org" matches
// "bob@mail.example.org"); in angle brackets an exact address ("<bob@example.org>"; "<>" is
// the null sender). --rcpt matches when any recipient does. --rule: the decision has a symbol
// of that name (exact). --id: the decision id, case-insensitive. --ip: a network or address.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checks/cidr.h"
#include "review/record.h"

namespace spamgate::review {

struct Window {
  int64_t since_ms = std::numeric_limits<int64_t>::min();  // inclusive
  int64_t until_ms = std::numeric_limits<int64_t>::max();  // exclusive

  bool contains(int64_t ms) const { return ms >= since_ms && ms < until_ms; }
};

struct AddressMatch {
  std::string text;    // lower case
  bool exact = false;  // given in angle brackets

  bool empty() const { return text.empty() && !exact; }
  bool matches(std::string_view address) const;
};
AddressMatch parseAddressMatch(std::string_view text);

struct Filter {
  Window window;
  std::vector<std::string> actions;
  std::optional<checks::CidrNetwork> network;
  AddressMatch from;
  AddressMatch rcpt;
  std::string rule;
  std::string id;

  bool matches(const Record& record) const;
};

}  // namespace spamgate::review
