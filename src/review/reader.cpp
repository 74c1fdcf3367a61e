#include "review/reader.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "review/parser.h"

namespace spamgate::review {

namespace {

constexpr std::size_t kBlock = 1u << 20;

// zlib's gzread() reads gzip members and, after checking the magic bytes, plain files as is.
class GzFile {
 public:
  explicit GzFile(int fd) : file_(fd >= 0 ? gzdopen(fd, "rb") : nullptr) {
    if (fd >= 0 && file_ == nullptr) ::close(fd);
    if (file_ != nullptr) gzbuffer(file_, 256u << 10);
  }
  ~GzFile() {
    if (file_ != nullptr) gzclose(file_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  bool open() const { return file_ != nullptr; }
  // Octets read into `to`, 0 at the end, -1 on an error (its text in `error`).
  long read(char* to, std::size_t n, std::string& error) {
    const int got = gzread(file_, to, static_cast<unsigned>(n));
    if (got > 0) return got;
    // A gzip file cut short ends in Z_BUF_ERROR, which gzread() reports only here.
    int code = Z_OK;
    const char* text = gzerror(file_, &code);
    if (code != Z_OK) error = text;
    return got == 0 && code == Z_OK ? 0 : -1;
  }

 private:
  gzFile file_;
};

int openInput(const std::string& path, std::string& error) {
  const int fd = path == "-" ? ::dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) error = std::strerror(errno);
  return fd;
}

std::string_view trimmed(const char* begin, const char* end) {
  if (end > begin && end[-1] == '\r') --end;
  return {begin, static_cast<std::size_t>(end - begin)};
}

// Passes the complete lines in buffer[0, size); returns where the incomplete one starts.
std::size_t passLines(const std::vector<char>& buffer, std::size_t size,
                      const std::function<void(std::string_view)>& line) {
  const char* begin = buffer.data();
  const char* end = begin + size;
  while (begin < end) {
    const auto* nl =
        static_cast<const char*>(std::memchr(begin, '\n', static_cast<std::size_t>(end - begin)));
    if (nl == nullptr) break;
    if (nl > begin) line(trimmed(begin, nl));
    begin = nl + 1;
  }
  return static_cast<std::size_t>(begin - buffer.data());
}

}  // namespace

bool forEachLine(const std::string& path, const std::function<void(std::string_view)>& line,
                 std::string& error) {
  GzFile file(openInput(path, error));
  if (!file.open()) {
    if (error.empty()) error = "cannot open";
    return false;
  }
  std::vector<char> buffer(kBlock + kLinePadding);
  std::size_t size = 0;  // octets held; [0, size) is the unpassed data
  for (;;) {
    if (buffer.size() - kLinePadding - size < kBlock / 2 && size < kMaxLine)
      buffer.resize(buffer.size() * 2);
    const long got = file.read(buffer.data() + size, buffer.size() - kLinePadding - size, error);
    if (got <= 0) break;
    size += static_cast<std::size_t>(got);
    const std::size_t done = passLines(buffer, size, line);
    if (done == 0 && size >= kMaxLine) {
      line(std::string_view(buffer.data(), size));  // an endless line: cut it
      size = 0;
      continue;
    }
    std::memmove(buffer.data(), buffer.data() + done, size - done);
    size -= done;
  }
  if (size > 0) line(trimmed(buffer.data(), buffer.data() + size));
  return error.empty();
}

}  // namespace spamgate::review
