// CIDR sets for the local allow and deny lists: IPv4 and IPv6 networks read from list files,
// with a longest-prefix lookup fast enough for lists of 100k entries (Postfix cidr tables).
//
// List file syntax, one network per line:
//   192.0.2.0/24          a network; the host bits must be zero ("192.0.2.1/24" is an error)
//   2001:db8::/32         an IPv6 network
//   192.0.2.7             a single address (/32, or /128 for IPv6)
//   # comment             '#' or ';' starts a comment, also after a network (DROP list style)
//   (blank lines)         ignored; leading and trailing spaces, tabs and CR too
//
// Families: IPv4 and IPv6 are kept apart, as the kernel reports them. An IPv4-mapped IPv6
// client ("::ffff:192.0.2.1", what a dual-stack socket reports) is looked up as IPv4 (the
// address parsing is checks/ip_address.h's), and an IPv4-mapped entry ("::ffff:192.0.2.0/120")
// is stored as IPv4; one with a prefix under 96 is an error. So "::/0" matches every IPv6
// client but no IPv4 client: a list that means "everything" also says "0.0.0.0/0".
//
// Lookup: the entries are sorted by first address; overlapping networks are always nested
// (CIDR), so each entry knows its innermost enclosing entry. find() is a binary search plus a
// walk up at most the nesting depth, and returns the most specific matching network. Of two
// identical networks, the one read first is kept (its file and line are reported).
//
// Errors: CidrError naming "file:line" and the bad text, or "file: cannot read ...".
// Hazards: none; a built CidrSet is immutable and may be shared between threads.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "checks/ip_address.h"

namespace spamgate::checks {

class CidrError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CidrNetwork {
  IpAddress first;      // host bits are zero; IPv4-mapped entries are IPv4
  unsigned prefix = 0;  // 0..32 for IPv4, 0..128 for IPv6

  bool contains(const IpAddress& ip) const;
  std::string text() const;  // "192.0.2.0/24", "2001:db8::/32", "192.0.2.7/32"
};

// One list entry: "ADDRESS" or "ADDRESS/PREFIX" (see the file syntax above). Empty, with the
// reason in `error` when given, on anything else, host bits set included.
std::optional<CidrNetwork> parseCidr(std::string_view text, std::string* error = nullptr);

namespace cidr_detail {
// An address as a 128-bit number (IPv4 in the low 32 bits; a CidrSet keeps families apart).
struct Key {
  uint64_t high = 0;
  uint64_t low = 0;
  auto operator<=>(const Key&) const = default;
};
}  // namespace cidr_detail

class CidrSet {
 public:
  struct Match {
    std::string network;  // "192.0.2.0/24"
    std::string source;   // "lists/deny.txt:12"
  };

  CidrSet() = default;  // empty: matches nothing

  // Reads the list files in order. Throws CidrError (unreadable file, bad line).
  static CidrSet fromFiles(const std::vector<std::string>& paths);
  // One list's text; `origin` names it in errors and matches. Throws CidrError.
  static CidrSet fromText(std::string_view text, const std::string& origin);

  // The most specific network holding `ip` (a client address as parseIpAddress() takes it;
  // a "%scope" suffix is ignored). Empty when none does or `ip` is not an address.
  std::optional<Match> find(std::string_view ip) const;
  std::optional<Match> find(const IpAddress& ip) const;

  std::size_t size() const { return v4_.size() + v6_.size(); }
  bool empty() const { return size() == 0; }

 private:
  using Key = cidr_detail::Key;
  struct Entry {
    Key first;
    Key last;
    uint32_t parent;  // index of the innermost enclosing entry, or kNoParent
    uint32_t file;    // index into files_
    uint32_t line;
    uint8_t prefix;
  };
  static constexpr uint32_t kNoParent = UINT32_MAX;

  void addText(std::string_view text, uint32_t file);
  void addLine(std::string_view line, uint32_t file, uint32_t number);
  void index();
  static void indexTable(std::vector<Entry>& table);
  Match matchOf(const Entry& entry, bool v6) const;

  std::vector<std::string> files_;
  std::vector<Entry> v4_;
  std::vector<Entry> v6_;
};

}  // namespace spamgate::checks
