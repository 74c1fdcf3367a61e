#include "base/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace spamgate::base {

namespace {

constexpr mode_t kDirMode = 0700;
constexpr mode_t kFileMode = 0600;

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool writeSynced(const std::string& path, std::initializer_list<std::string_view> parts,
                 std::string& error) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
  if (fd < 0) {
    error = errnoText("open", path);
    return false;
  }
  bool ok = true;
  for (std::string_view part : parts) {
    if (ok && !writeAll(fd, part)) {
      error = errnoText("write", path);
      ok = false;
    }
  }
  if (ok && fsync(fd) != 0) {
    error = errnoText("fsync", path);
    ok = false;
  }
  if (close(fd) != 0 && ok) {
    error = errnoText("close", path);
    ok = false;
  }
  if (!ok) unlink(path.c_str());
  return ok;
}

std::string parentDir(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

std::string errnoText(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

bool makeDirs(const std::string& path, std::string& error) {
  for (std::size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    if (mkdir(prefix.c_str(), kDirMode) != 0 && errno != EEXIST) {
      error = errnoText("mkdir", prefix);
      return false;
    }
  }
  return true;
}

bool syncDir(const std::string& dir, std::string& error) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    error = errnoText("fsync", dir);
    if (fd >= 0) close(fd);
    return false;
  }
  close(fd);
  return true;
}

bool writeDurably(const std::string& tmp, const std::string& dest,
                  std::initializer_list<std::string_view> parts, std::string& error) {
  if (!writeSynced(tmp, parts, error)) return false;
  if (std::rename(tmp.c_str(), dest.c_str()) != 0) {
    error = errnoText("rename", tmp) + " -> " + dest;
    unlink(tmp.c_str());
    return false;
  }
  return syncDir(parentDir(dest), error);
}

}  // namespace spamgate::base
