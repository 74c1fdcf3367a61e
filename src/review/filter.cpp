#include "review/filter.h"

#include <algorithm>

#include "base/ascii.h"

namespace spamgate::review {

namespace {

bool containsIgnoreCase(std::string_view text, std::string_view lower_needle) {
  const auto it = std::search(text.begin(), text.end(), lower_needle.begin(), lower_needle.end(),
                              [](char a, char b) { return base::asciiLower(a) == b; });
  return it != text.end() || lower_needle.empty();
}

bool anyRecipient(const Record& r, const AddressMatch& match) {
  return std::any_of(r.rcpts.begin(), r.rcpts.end(),
                     [&](const RcptView& rcpt) { return match.matches(rcpt.address); });
}

bool inNetwork(const checks::CidrNetwork& network, std::string_view ip) {
  const auto address = checks::parseIpAddress(ip);
  return address && network.contains(*address);
}

bool actionListed(const std::vector<std::string>& actions, std::string_view action) {
  return actions.empty() || std::find(actions.begin(), actions.end(), action) != actions.end();
}

}  // namespace

bool AddressMatch::matches(std::string_view address) const {
  return exact ? base::equalsIgnoreCase(address, text) : containsIgnoreCase(address, text);
}

AddressMatch parseAddressMatch(std::string_view text) {
  AddressMatch match;
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') {
    match.exact = true;
    text = text.substr(1, text.size() - 2);
  }
  match.text.reserve(text.size());
  for (const char c : text)
    match.text += base::asciiLower(c);
  return match;
}

bool Filter::matches(const Record& r) const {
  if (!window.contains(r.time_ms) || !actionListed(actions, r.action)) return false;
  if (network && !inNetwork(*network, r.client_ip)) return false;
  if (!from.empty() && !(r.has_mail && from.matches(r.mail_from))) return false;
  if (!rcpt.empty() && !anyRecipient(r, rcpt)) return false;
  if (!rule.empty() && !r.hasSymbol(rule)) return false;
  return id.empty() || base::equalsIgnoreCase(r.id, id);
}

}  // namespace spamgate::review
