#include "quarantine/quarantine.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>

#include "base/durable_file.h"

namespace spamgate::quarantine {

namespace {

constexpr std::string_view kMessageSuffix = ".msg";
constexpr std::string_view kMarkerSuffix = ".released";
constexpr std::string_view kReleasing = "releasing";

void addLine(std::string& out, std::string_view key, std::string_view value) {
  out.append(key).append(": ").append(value).push_back('\n');
}

std::string numberText(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  return buffer;
}

bool setField(Envelope& e, std::string_view key, std::string_view value) {
  if (key == "rcpt") {
    e.rcpts.emplace_back(value);
  } else if (key == "time") {
    return std::from_chars(value.data(), value.data() + value.size(), e.time_ms).ec == std::errc{};
  } else if (key == "score") {
    e.score = std::strtod(std::string(value).c_str(), nullptr);
  } else {
    std::string* fields[] = {&e.id,  &e.client_ip, &e.helo,   &e.protocol,
                             &e.tls, &e.mail_from, &e.action, &e.reason};
    constexpr std::string_view names[] = {"id",  "client",    "helo",   "protocol",
                                          "tls", "mail-from", "action", "reason"};
    for (std::size_t i = 0; i < std::size(names); ++i) {
      if (key == names[i]) *fields[i] = value;
    }
  }
  return true;
}

bool readWhole(const std::string& path, std::string& out, std::string& error) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    error = base::errnoText("open", path);
    return false;
  }
  char buffer[65536];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0)
    out.append(buffer, got);
  const bool ok = std::ferror(file) == 0;
  if (!ok) error = base::errnoText("read", path);
  std::fclose(file);
  return ok;
}

struct Kept {
  std::string id;
  std::time_t mtime = 0;
  uint64_t bytes = 0;
};

std::vector<Kept> listKept(const std::string& dir, std::string& error) {
  std::vector<Kept> kept;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    if (errno != ENOENT) error = base::errnoText("opendir", dir);
    return kept;
  }
  while (const dirent* entry = readdir(d)) {
    std::string_view name = entry->d_name;
    if (!name.ends_with(kMessageSuffix)) continue;
    name.remove_suffix(kMessageSuffix.size());
    struct stat info {};
    const std::string path = dir + "/" + entry->d_name;
    if (!validId(name) || stat(path.c_str(), &info) != 0) continue;
    kept.push_back(Kept{std::string(name), info.st_mtime, static_cast<uint64_t>(info.st_size)});
  }
  closedir(d);
  std::sort(kept.begin(), kept.end(), [](const Kept& a, const Kept& b) {
    return a.mtime != b.mtime ? a.mtime < b.mtime : a.id < b.id;
  });
  return kept;
}

}  // namespace

bool validId(std::string_view id) {
  return id.size() == 16 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
         });
}

std::string formatEnvelope(const Envelope& e) {
  std::string out;
  addLine(out, "id", e.id);
  addLine(out, "time", std::to_string(e.time_ms));
  addLine(out, "client", e.client_ip);
  addLine(out, "helo", e.helo);
  addLine(out, "protocol", e.protocol);
  addLine(out, "tls", e.tls);
  addLine(out, "mail-from", e.mail_from);
  for (const auto& rcpt : e.rcpts)
    addLine(out, "rcpt", rcpt);
  addLine(out, "action", e.action);
  addLine(out, "score", numberText(e.score));
  addLine(out, "reason", e.reason);
  out.push_back('\n');
  return out;
}

std::optional<Entry> parseEntry(std::string_view text) {
  Entry entry;
  while (true) {
    const auto end = text.find('\n');
    if (end == std::string_view::npos) return std::nullopt;
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 1);
    if (line.empty()) break;
    const auto colon = line.find(": ");
    if (colon == std::string_view::npos) return std::nullopt;
    if (!setField(entry.envelope, line.substr(0, colon), line.substr(colon + 2))) {
      return std::nullopt;
    }
  }
  if (!validId(entry.envelope.id)) return std::nullopt;
  entry.message = text;
  return entry;
}

Quarantine::Quarantine(std::string dir) : dir_(std::move(dir)) {
  while (dir_.size() > 1 && dir_.back() == '/')
    dir_.pop_back();
}

std::string Quarantine::pathOf(std::string_view id) const {
  return dir_ + "/" + std::string(id) + std::string(kMessageSuffix);
}

std::string Quarantine::markerOf(std::string_view id) const {
  return dir_ + "/" + std::string(id) + std::string(kMarkerSuffix);
}

bool Quarantine::keep(const Envelope& envelope, std::string_view message,
                      std::string& error) const {
  if (!validId(envelope.id)) {
    error = "not a decision id: " + envelope.id;
    return false;
  }
  if (!base::makeDirs(dir_ + "/tmp", error)) return false;
  return base::writeDurably(dir_ + "/tmp/" + envelope.id, pathOf(envelope.id),
                            {formatEnvelope(envelope), message}, error);
}

std::optional<Entry> Quarantine::read(std::string_view id, std::string& error) const {
  if (!validId(id)) {
    error = "not a decision id: " + std::string(id);
    return std::nullopt;
  }
  std::string text;
  if (!readWhole(pathOf(id), text, error)) return std::nullopt;
  auto entry = parseEntry(text);
  if (entry && entry->envelope.id == id) return entry;
  error = pathOf(id) + ": not a quarantined message";
  return std::nullopt;
}

Claim Quarantine::claimRelease(std::string_view id) const {
  const std::string marker = markerOf(id);
  const int fd = open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    const bool ok = write(fd, kReleasing.data(), kReleasing.size()) ==
                        static_cast<ssize_t>(kReleasing.size()) &&
                    fsync(fd) == 0;
    close(fd);
    std::string error;
    if (ok && base::syncDir(dir_, error)) return Claim{ReleaseState::Claimed, {}};
    unlink(marker.c_str());
    return Claim{ReleaseState::Failed, error.empty() ? base::errnoText("write", marker) : error};
  }
  if (errno != EEXIST) return Claim{ReleaseState::Failed, base::errnoText("open", marker)};
  std::string text;
  std::string error;
  if (!readWhole(marker, text, error)) return Claim{ReleaseState::Failed, error};
  if (text == kReleasing) return Claim{ReleaseState::Interrupted, marker};
  return Claim{ReleaseState::AlreadyReleased, text};
}

bool Quarantine::completeRelease(std::string_view id, std::string_view detail,
                                 std::string& error) const {
  const std::string tmp = dir_ + "/tmp/" + std::string(id) + std::string(kMarkerSuffix);
  return base::makeDirs(dir_ + "/tmp", error) &&
         base::writeDurably(tmp, markerOf(id), {detail}, error);
}

void Quarantine::abandonRelease(std::string_view id) const {
  unlink(markerOf(id).c_str());
}

PruneResult Quarantine::prune(std::chrono::system_clock::time_point now,
                              std::chrono::seconds max_age, uint64_t max_bytes) const {
  PruneResult result;
  std::vector<Kept> kept = listKept(dir_, result.error);
  const std::time_t oldest = std::chrono::system_clock::to_time_t(now - max_age);
  uint64_t total = 0;
  for (const Kept& k : kept)
    total += k.bytes;
  for (const Kept& k : kept) {
    if (k.mtime >= oldest && total <= max_bytes) break;
    if (unlink(pathOf(k.id).c_str()) != 0 && errno != ENOENT && result.error.empty()) {
      result.error = base::errnoText("unlink", pathOf(k.id));
      continue;
    }
    unlink(markerOf(k.id).c_str());
    total -= k.bytes;
    ++result.removed;
  }
  result.bytes_kept = total;
  return result;
}

}  // namespace spamgate::quarantine
