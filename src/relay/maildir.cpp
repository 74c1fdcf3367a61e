#include "relay/maildir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "base/durable_file.h"
#include "net/worker_pool.h"

namespace spamgate::relay {

namespace {

std::string escapeHost(std::string_view host) {
  std::string out;
  for (char c : host) {
    if (c == '/') {
      out += "\\057";
    } else if (c == ':') {
      out += "\\072";
    } else {
      out += c;
    }
  }
  return out;
}

std::string localHostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

Outcome tempfail(std::string detail) {
  return Outcome{smtp::makeReply(451, "4.3.0", "Error: local delivery failed, try again later"),
                 "maildir: " + detail,
                 {}};
}

struct Job {
  std::string root;
  std::string name;
  std::string headers;
  std::string message;
  std::atomic<bool> cancelled{false};
  MaildirResult result;
};

class MaildirTransaction final : public Transaction {
 public:
  MaildirTransaction(const std::string& root, const std::string& hostname, net::LoopInbox& inbox,
                     net::WorkerPool& pool)
      : root_(root), hostname_(hostname), inbox_(inbox), pool_(pool) {}
  ~MaildirTransaction() override {
    if (job_) job_->cancelled = true;
  }
  MaildirTransaction(const MaildirTransaction&) = delete;
  MaildirTransaction& operator=(const MaildirTransaction&) = delete;

  void mail(const std::string& reverse_path, const std::string&, Callback done) override {
    sender_ = reverse_path;
    rcpts_.clear();
    done(Outcome{smtp::makeReply(250, "2.1.0", "Ok"), "maildir", {}});
  }

  void rcpt(const std::string& forward_path, const std::string&, Callback done) override {
    rcpts_.push_back(forward_path);
    done(Outcome{smtp::makeReply(250, "2.1.5", "Ok"), "maildir", {}});
  }

  void deliver(std::string message, Callback done) override;

 private:
  std::string root_;
  std::string hostname_;
  net::LoopInbox& inbox_;
  net::WorkerPool& pool_;
  std::string sender_;
  std::vector<std::string> rcpts_;
  std::shared_ptr<Job> job_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

void MaildirTransaction::deliver(std::string message, Callback done) {
  if (rcpts_.empty()) {
    done(Outcome{smtp::makeReply(554, "5.5.1", "Error: no valid recipients"),
                 "maildir: deliver() without a recipient",
                 {}});
    return;
  }
  auto job = std::make_shared<Job>();
  job->root = root_;
  job->name = maildirUniqueName(hostname_);
  job->headers = "Return-Path: <" + sender_ + ">\r\nDelivered-To: " + rcpts_.front() + "\r\n";
  job->message = std::move(message);
  job_ = job;
  auto callback = std::make_shared<Callback>(std::move(done));
  std::weak_ptr<bool> alive = alive_;
  auto work = [job] {
    if (job->cancelled) return;
    job->result = writeMaildirMessage(job->root, job->name, job->headers, job->message);
    job->message = std::string();  // free it on the pool thread
  };
  auto finished = [job, alive, callback] {
    if (alive.expired()) return;
    const MaildirResult& r = job->result;
    Outcome outcome =
        r.ok ? Outcome{smtp::makeReply(250, "2.0.0", "Ok"),
                       "maildir: delivered to " + job->root + "/new/" + r.file_name, r.file_name}
             : tempfail(r.error);
    (*callback)(std::move(outcome));
  };
  if (!pool_.post(inbox_, std::move(work), std::move(finished))) {
    job_.reset();
    (*callback)(tempfail("worker pool queue full"));
  }
}

class MaildirRelay final : public Relay {
 public:
  MaildirRelay(std::string root, std::string hostname, net::LoopInbox& inbox, net::WorkerPool& pool)
      : root_(std::move(root)), hostname_(std::move(hostname)), inbox_(inbox), pool_(pool) {}

  std::unique_ptr<Transaction> begin(const ClientInfo&) override {
    return std::make_unique<MaildirTransaction>(root_, hostname_, inbox_, pool_);
  }

 private:
  std::string root_;
  std::string hostname_;
  net::LoopInbox& inbox_;
  net::WorkerPool& pool_;
};

}  // namespace

std::string maildirUniqueName(std::string_view hostname) {
  static std::atomic<unsigned long long> counter{0};
  timeval now{};
  gettimeofday(&now, nullptr);
  return std::to_string(now.tv_sec) + ".M" + std::to_string(now.tv_usec) + "P" +
         std::to_string(getpid()) + "T" + std::to_string(gettid()) + "Q" +
         std::to_string(++counter) + "." + escapeHost(hostname);
}

MaildirResult writeMaildirMessage(const std::string& root, const std::string& unique_name,
                                  std::string_view headers, std::string_view message) {
  MaildirResult result;
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    if (!base::makeDirs(root + sub, result.error)) return result;
  }
  const std::string_view end =
      !message.empty() && !message.ends_with("\r\n") ? std::string_view("\r\n") : "";
  if (!base::writeDurably(root + "/tmp/" + unique_name, root + "/new/" + unique_name,
                          {headers, message, end}, result.error)) {
    return result;
  }
  result.ok = true;
  result.file_name = unique_name;
  return result;
}

std::unique_ptr<Relay> makeMaildirRelay(config::Snapshot config, net::LoopInbox& inbox,
                                        net::WorkerPool& pool) {
  std::string root = config->backend.maildir;
  if (root.starts_with("maildir:")) root.erase(0, 8);
  while (root.size() > 1 && root.back() == '/')
    root.pop_back();
  std::string host = config->server.hostname.empty() ? localHostname() : config->server.hostname;
  return std::make_unique<MaildirRelay>(std::move(root), std::move(host), inbox, pool);
}

}  // namespace spamgate::relay
