// Frames an SMTP byte stream into lines, with a bound on line length.
//
// A line ends at LF. `crlf` tells whether a CR came right before it; a lone LF ("bare LF") is
// reported as crlf == false so that the caller applies its policy: only a "." line that ends
// in CRLF and follows a line that ended in CRLF ends a message. CR anywhere else stays in
// the text. A line longer than the limit is reported once, when its LF arrives, with
// `overlong` set and its octets discarded: memory stays bounded whatever the peer sends.
// BDAT chunks are read raw with takeRaw().
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace spamgate::smtp {

class LineReader {
 public:
  struct Line {
    std::string_view text;  // without the terminator; valid until the next call
    bool crlf = true;
    bool overlong = false;
  };

  void append(std::string_view bytes);
  // The next complete line whose text is at most `limit` octets, or nothing yet.
  std::optional<Line> next(std::size_t limit);
  // Moves up to `max` buffered octets into `out` (BDAT); returns how many.
  std::size_t takeRaw(std::size_t max, std::string& out);
  std::size_t buffered() const { return buffer_.size() - start_; }
  void clear();

 private:
  void compact();

  std::string buffer_;
  std::size_t start_ = 0;    // first unread octet
  std::size_t scanned_ = 0;  // octets after start_ known to hold no LF
  bool discarding_ = false;  // inside an overlong line
};

}  // namespace spamgate::smtp
