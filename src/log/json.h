// A small JSON writer for the decision log: objects and arrays of strings and numbers,
// with strings escaped per RFC 8259 (control characters, quotes, backslashes; invalid UTF-8
// octets become U+FFFD so every line stays valid JSON whatever a client sent). Numbers that
// are not finite are written as null.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace spamgate::log {

class JsonWriter {
 public:
  JsonWriter& beginObject(std::string_view key = {});
  JsonWriter& endObject();
  JsonWriter& beginArray(std::string_view key);
  JsonWriter& endArray();
  JsonWriter& field(std::string_view key, std::string_view value);
  JsonWriter& field(std::string_view key, const char* value) {
    return field(key, std::string_view(value));
  }
  JsonWriter& field(std::string_view key, int64_t value);
  JsonWriter& field(std::string_view key, uint64_t value);
  JsonWriter& field(std::string_view key, int value) { return field(key, int64_t{value}); }
  JsonWriter& field(std::string_view key, double value);
  JsonWriter& field(std::string_view key, bool value);
  JsonWriter& null(std::string_view key);
  // A value that is JSON already (another writer's output), copied as it is.
  JsonWriter& raw(std::string_view key, std::string_view json);
  std::string take() { return std::move(out_); }

 private:
  void separate();
  void key(std::string_view k);
  void string(std::string_view s);

  std::string out_;
  bool first_ = true;
};

}  // namespace spamgate::log
