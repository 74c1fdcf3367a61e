// Reads one TOML table into typed config fields (internal to the config module).
// Each read*() leaves the field untouched when the key is absent, so fields keep their embedded
// defaults; on a present key it checks type and range and throws ConfigError
// "FILE:LINE: key 'section.key': reason" with the line of the offending value.
// finish() must be called after the last read: it rejects every key nobody read, which is how
// unknown keys and tables are found without a second list of key names to keep in sync.
// Hazard: the reader keeps pointers into the toml::table; the table must outlive it.
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "config/config.h"

namespace spamgate::config::detail {

// The one place that formats errors: "FILE:LINE: key 'K': reason" ("FILE: ..." without a line).
[[noreturn]] void fail(const std::string& origin, uint32_t line, std::string_view key,
                       std::string_view reason);

template <typename E>
using EnumNames = std::span<const std::pair<std::string_view, E>>;

class TableReader {
 public:
  // `table` may be null (section absent): every read is then a no-op.
  TableReader(const toml::table* table, std::string prefix, const std::string& origin);

  // The sub-table `key`, or a reader over nothing when absent; a non-table value is an error.
  TableReader table(std::string_view key);

  void readString(std::string_view key, std::string& out);
  // Reads a string and hands it to `use`; a ValueError from `use` is reported at the key.
  void readString(std::string_view key, const std::function<void(const std::string&)>& use);
  void readBool(std::string_view key, bool& out);
  void readDouble(std::string_view key, double& out);  // integers accepted too
  void readInteger(std::string_view key, uint64_t& out, uint64_t min, uint64_t max);
  void readSeconds(std::string_view key, Seconds& out, uint64_t min, uint64_t max);
  // Seconds as an integer or a float ("0.5"), kept to the millisecond (rounded).
  void readMilliseconds(std::string_view key, std::chrono::milliseconds& out, double min_seconds,
                        double max_seconds);
  // Calls `each` per element; a ValueError from it becomes an error at that element's line.
  // Returns false when the key is absent (so the caller can keep a default list).
  bool readStringArray(std::string_view key, const std::function<void(const std::string&)>& each);
  // An array of tables ("[[a.key]]" headers, or an array of inline tables): calls `each` with a
  // reader per table, named "a.key[0]", "a.key[1]", ... (counted from 0, as in TOML paths).
  // `each` must call finish() on it. Returns false when the key is absent.
  bool readTableArray(std::string_view key, const std::function<void(TableReader&)>& each);

  template <typename T>
  void readUnsigned(std::string_view key, T& out, uint64_t min, uint64_t max) {
    auto value = static_cast<uint64_t>(out);
    readInteger(key, value, min, max);
    out = static_cast<T>(value);
  }

  template <typename E>
  void readEnum(std::string_view key, E& out, EnumNames<E> names) {
    std::string text;
    if (!has(key)) return;
    readString(key, text);
    for (const auto& [name, value] : names) {
      if (name == text) {
        out = value;
        return;
      }
    }
    failAt(key, "must be one of " + joinNames(names) + ", not \"" + text + "\"");
  }

  bool has(std::string_view key) const;
  // A key without a default: its absence is an error at the table's own line.
  void require(std::string_view key) const;
  uint32_t line(std::string_view key) const;  // 0 when absent
  std::string keyName(std::string_view key) const;
  [[noreturn]] void failAt(std::string_view key, std::string_view reason) const;

  void finish() const;  // throws for the first key that was never read

 private:
  const toml::node* take(std::string_view key);
  [[noreturn]] void wrongType(std::string_view key, const toml::node& node,
                              std::string_view expected) const;

  template <typename E>
  static std::string joinNames(EnumNames<E> names) {
    std::string out;
    for (const auto& entry : names) {
      if (!out.empty()) out += ", ";
      // Appended piece by piece: GCC 12 -O3 warns (-Wrestrict, a false positive) on the
      // insert-at-front of `"\"" + std::string(...)`.
      out += '"';
      out += entry.first;
      out += '"';
    }
    return out;
  }

  const toml::table* table_;
  std::string prefix_;
  const std::string& origin_;
  std::set<std::string, std::less<>> read_;
};

}  // namespace spamgate::config::detail
