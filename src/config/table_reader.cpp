#include "config/table_reader.h"

#include <cmath>
#include <sstream>

#include "config/values.h"

namespace spamgate::config::detail {
namespace {

std::string_view typeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date/time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

uint32_t lineOf(const toml::node& node) {
  return node.source().begin.line;
}

}  // namespace

void fail(const std::string& origin, uint32_t line, std::string_view key, std::string_view reason) {
  std::string message = origin;
  if (line > 0) message += ":" + std::to_string(line);
  message += ": key '" + std::string(key) + "': " + std::string(reason);
  throw ConfigError(message);
}

TableReader::TableReader(const toml::table* table, std::string prefix, const std::string& origin)
    : table_(table), prefix_(std::move(prefix)), origin_(origin) {}

bool TableReader::has(std::string_view key) const {
  return table_ != nullptr && table_->get(key) != nullptr;
}

uint32_t TableReader::line(std::string_view key) const {
  const toml::node* node = table_ == nullptr ? nullptr : table_->get(key);
  return node == nullptr ? 0 : lineOf(*node);
}

std::string TableReader::keyName(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
}

void TableReader::failAt(std::string_view key, std::string_view reason) const {
  fail(origin_, line(key), keyName(key), reason);
}

void TableReader::wrongType(std::string_view key, const toml::node& node,
                            std::string_view expected) const {
  fail(origin_, lineOf(node), keyName(key),
       "expected " + std::string(expected) + ", got " + std::string(typeName(node.type())));
}

const toml::node* TableReader::take(std::string_view key) {
  if (table_ == nullptr) return nullptr;
  const toml::node* node = table_->get(key);
  if (node != nullptr) read_.emplace(key);
  return node;
}

TableReader TableReader::table(std::string_view key) {
  const toml::node* node = take(key);
  if (node != nullptr && !node->is_table()) wrongType(key, *node, "a table");
  return TableReader(node == nullptr ? nullptr : node->as_table(), keyName(key), origin_);
}

void TableReader::readString(std::string_view key, std::string& out) {
  const toml::node* node = take(key);
  if (node == nullptr) return;
  if (!node->is_string()) wrongType(key, *node, "a string");
  out = node->as_string()->get();
}

void TableReader::readString(std::string_view key,
                             const std::function<void(const std::string&)>& use) {
  if (!has(key)) return;
  std::string text;
  readString(key, text);
  try {
    use(text);
  } catch (const ValueError& error) {
    failAt(key, error.what());
  }
}

void TableReader::readBool(std::string_view key, bool& out) {
  const toml::node* node = take(key);
  if (node == nullptr) return;
  if (!node->is_boolean()) wrongType(key, *node, "a boolean");
  out = node->as_boolean()->get();
}

void TableReader::readDouble(std::string_view key, double& out) {
  const toml::node* node = take(key);
  if (node == nullptr) return;
  if (const auto* integer = node->as_integer()) {
    out = static_cast<double>(integer->get());
    return;
  }
  if (!node->is_floating_point()) wrongType(key, *node, "a number");
  out = node->as_floating_point()->get();
  if (!std::isfinite(out)) failAt(key, "must be a finite number");
}

void TableReader::readInteger(std::string_view key, uint64_t& out, uint64_t min, uint64_t max) {
  const toml::node* node = take(key);
  if (node == nullptr) return;
  if (!node->is_integer()) wrongType(key, *node, "an integer");
  const int64_t value = node->as_integer()->get();
  if (value < 0) failAt(key, "must not be negative");
  const auto unsigned_value = static_cast<uint64_t>(value);
  if (unsigned_value < min || unsigned_value > max) {
    failAt(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                    ", not " + std::to_string(value));
  }
  out = unsigned_value;
}

void TableReader::readSeconds(std::string_view key, Seconds& out, uint64_t min, uint64_t max) {
  auto value = static_cast<uint64_t>(out.count());
  readInteger(key, value, min, max);
  out = Seconds(static_cast<Seconds::rep>(value));
}

void TableReader::readMilliseconds(std::string_view key, std::chrono::milliseconds& out,
                                   double min_seconds, double max_seconds) {
  if (!has(key)) return;
  double value = 0;
  readDouble(key, value);
  if (value < min_seconds || value > max_seconds) {
    std::ostringstream reason;
    reason << "must be between " << min_seconds << " and " << max_seconds << " seconds, not "
           << value;
    failAt(key, reason.str());
  }
  out = std::chrono::milliseconds(std::llround(value * 1000));
}

bool TableReader::readStringArray(std::string_view key,
                                  const std::function<void(const std::string&)>& each) {
  const toml::node* node = take(key);
  if (node == nullptr) return false;
  if (!node->is_array()) wrongType(key, *node, "an array of strings");
  for (const toml::node& element : *node->as_array()) {
    if (!element.is_string()) wrongType(key, element, "an array of strings");
    const std::string& text = element.as_string()->get();
    try {
      each(text);
    } catch (const ValueError& error) {
      fail(origin_, lineOf(element), keyName(key), "\"" + text + "\": " + error.what());
    }
  }
  return true;
}

bool TableReader::readTableArray(std::string_view key,
                                 const std::function<void(TableReader&)>& each) {
  const toml::node* node = take(key);
  if (node == nullptr) return false;
  if (!node->is_array()) wrongType(key, *node, "an array of tables");
  std::size_t index = 0;
  for (const toml::node& element : *node->as_array()) {
    if (!element.is_table()) wrongType(key, element, "an array of tables");
    TableReader reader(element.as_table(), keyName(key) + "[" + std::to_string(index++) + "]",
                       origin_);
    each(reader);
  }
  return true;
}

void TableReader::require(std::string_view key) const {
  if (table_ == nullptr || has(key)) return;
  fail(origin_, lineOf(*table_), keyName(key), "missing (required)");
}

void TableReader::finish() const {
  if (table_ == nullptr) return;
  for (const auto& [key, node] : *table_) {
    if (!read_.contains(key.str())) {
      fail(origin_, lineOf(node), keyName(key.str()), "unknown key");
    }
  }
}

}  // namespace spamgate::config::detail
