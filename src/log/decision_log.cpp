#include "log/decision_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>

#include "log/json.h"

namespace spamgate::log {

namespace {

std::string isoTime(int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[40];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buffer, static_cast<int>(ms % 1000));
  return out;
}

void writeReply(JsonWriter& json, std::string_view key, const smtp::Reply& reply) {
  json.beginObject(key)
      .field("code", reply.code)
      .field("enhanced", reply.enhanced)
      .field("text", reply.text)
      .endObject();
}

int openAppend(const std::string& path) {
  std::error_code ignored;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) throw std::runtime_error("decision log " + path + ": " + std::strerror(errno));
  return fd;
}

}  // namespace

std::string toJson(const Decision& d) {
  JsonWriter json;
  json.beginObject()
      .field("time", isoTime(d.time_ms))
      .field("event", d.event)
      .field("id", d.id)
      .beginObject("client")
      .field("ip", d.client_ip)
      .field("port", int64_t{d.client_port})
      .endObject()
      .field("helo", d.helo);
  d.tls.empty() ? json.null("tls") : json.field("tls", d.tls);
  d.has_mail ? json.field("mail_from", d.mail_from) : json.null("mail_from");
  json.beginArray("rcpts");
  for (const auto& r : d.rcpts) {
    json.beginObject().field("address", r.address);
    writeReply(json, "reply", r.reply);
    json.endObject();
  }
  json.endArray().field("size", d.size).field("message_id", d.message_id);
  json.field("action", d.action).field("reason", d.reason);
  writeReply(json, "reply", d.reply);
  json.field("score", d.score).beginArray("symbols");
  for (const auto& s : d.symbols) {
    json.beginObject().field("name", s.name).field("score", s.score).field("detail", s.detail);
    json.endObject();
  }
  json.endArray()
      .beginObject("backend")
      .field("reply", d.backend_reply)
      .field("queue_id", d.queue_id)
      .endObject()
      .field("quarantined", d.quarantined);
  if (!d.release_of.empty()) json.field("release_of", d.release_of);
  json.field("duration_ms", d.duration_ms)
      .endObject();
  return json.take();
}

DecisionLog::DecisionLog(std::string path) : path_(std::move(path)) {
  if (!path_.empty()) fd_ = openAppend(path_);
}

DecisionLog::~DecisionLog() {
  if (fd_ >= 0) ::close(fd_);
}

void DecisionLog::write(const Decision& decision) {
  if (path_.empty()) return;
  std::string line = toJson(decision);
  line += '\n';
  std::lock_guard lock(mutex_);
  if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    message(Level::Error, "decision log " + path_ + ": write failed: " + std::strerror(errno));
  }
}

void DecisionLog::reopen() {
  if (path_.empty()) return;
  try {
    const int fd = openAppend(path_);
    std::lock_guard lock(mutex_);
    ::close(fd_);
    fd_ = fd;
  } catch (const std::exception& e) {
    message(Level::Error, e.what());
  }
}

void message(Level level, const std::string& text) {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const char* name = level == Level::Info ? "info" : level == Level::Warning ? "warning" : "error";
  const std::string line = isoTime(ms.count()) + " spamgate: " + name + ": " + text + "\n";
  [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace spamgate::log
