#include "smtp/line_reader.h"

#include <cstring>

namespace spamgate::smtp {

void LineReader::append(std::string_view bytes) {
  compact();
  buffer_.append(bytes);
}

std::optional<LineReader::Line> LineReader::next(std::size_t limit) {
  const char* begin = buffer_.data() + start_;
  const std::size_t available = buffered();
  const void* lf = std::memchr(begin + scanned_, '\n', available - scanned_);
  if (lf == nullptr) {
    if (available > limit + 1) {  // +1: a CR that may belong to the terminator
      discarding_ = true;
      start_ = buffer_.size() - 1;  // keep a trailing CR to recognise CRLF
      scanned_ = 1;
    } else {
      scanned_ = available;
    }
    return std::nullopt;
  }
  const auto length = static_cast<std::size_t>(static_cast<const char*>(lf) - begin);
  Line line;
  line.crlf = length > 0 && begin[length - 1] == '\r';
  const std::size_t text_length = line.crlf ? length - 1 : length;
  line.overlong = discarding_ || text_length > limit;
  line.text = line.overlong ? std::string_view() : std::string_view(begin, text_length);
  start_ += length + 1;
  scanned_ = 0;
  discarding_ = false;
  return line;
}

std::size_t LineReader::takeRaw(std::size_t max, std::string& out) {
  const std::size_t n = std::min(max, buffered());
  out.append(buffer_, start_, n);
  start_ += n;
  scanned_ = 0;
  return n;
}

void LineReader::clear() {
  buffer_.clear();
  start_ = 0;
  scanned_ = 0;
  discarding_ = false;
}

void LineReader::compact() {
  if (start_ == 0) return;
  if (start_ == buffer_.size()) {
    buffer_.clear();
  } else if (start_ > 4096 && start_ * 2 > buffer_.size()) {
    buffer_.erase(0, start_);
  } else {
    return;
  }
  start_ = 0;
}

}  // namespace spamgate::smtp
