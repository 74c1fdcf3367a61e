// Lines of decision logs: plain files, gzip files (rotated logs; recognised by their magic
// bytes, whatever their name; several gzip members one after another too), or stdin ("-").
//
// forEachLine() calls `line` for every line without its "\n" (and "\r\n"), in file order,
// empty lines left out. Each line's buffer stays readable for kLinePadding bytes past its end
// (what the JSON parser needs), and is valid only during the call. A line over kMaxLine is
// cut there and passed as it is (the parser then refuses it). Returns false, with the reason
// in `error`, when the file cannot be opened or read to its end (a truncated gzip file:
// the lines before the damage have been passed).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace spamgate::review {

constexpr std::size_t kMaxLine = 16u << 20;

bool forEachLine(const std::string& path, const std::function<void(std::string_view)>& line,
                 std::string& error);

}  // namespace spamgate::review
