// The quarantine: messages kept for review and release, one file per message in
// [quarantine] dir, named by the decision id ("DIR/ID.msg"). A file is the envelope as
// "key: value" lines (id, time, client, helo, protocol, tls, mail-from, one rcpt line per
// recipient, action, score, reason), an empty line, then the message as received (CRLF, not
// dot-stuffed), so `less DIR/ID.msg` shows it all. Written durably (temp file in DIR/tmp,
// fsync, rename, fsync of DIR): a file is whole or absent.
//
// Release bookkeeping keeps a message from reaching the backend twice: claimRelease() creates
// "DIR/ID.released" exclusively before delivery ("releasing"), completeRelease() rewrites it
// ("released") after the backend's 250, abandonRelease() removes it when delivery failed. A
// release interrupted between the two is reported, never retried blindly.
//
// Everything here blocks on the disk: call it off the event loop. Nothing throws; errors come
// back as text naming the path.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spamgate::quarantine {

struct Envelope {
  std::string id;  // decision id: 16 characters of Crockford base32
  int64_t time_ms = 0;
  std::string client_ip;
  std::string helo;
  std::string protocol;  // "ESMTPS" (RFC 3848), for the Received header of a release
  std::string tls;       // "TLSv1.3 with cipher ...", empty for plaintext
  std::string mail_from;
  std::vector<std::string> rcpts;
  std::string action;  // the decision: reject, tempfail, tag, accept
  double score = 0;
  std::string reason;
};

struct Entry {
  Envelope envelope;
  std::string message;
};

// What a decision id may be: it names a file, so nothing but [0-9A-Z], 16 characters.
bool validId(std::string_view id);

enum class ReleaseState { Claimed, AlreadyReleased, Interrupted, Failed };

struct Claim {
  ReleaseState state = ReleaseState::Failed;
  std::string detail;  // the released marker's text, or the error
};

struct PruneResult {
  unsigned removed = 0;
  uint64_t bytes_kept = 0;
  std::string error;  // the first error met; pruning goes on past it
};

class Quarantine {
 public:
  explicit Quarantine(std::string dir);

  bool keep(const Envelope& envelope, std::string_view message, std::string& error) const;
  std::optional<Entry> read(std::string_view id, std::string& error) const;
  std::string pathOf(std::string_view id) const;

  Claim claimRelease(std::string_view id) const;
  bool completeRelease(std::string_view id, std::string_view detail, std::string& error) const;
  void abandonRelease(std::string_view id) const;

  // Removes messages (and their release markers) older than `max_age`, then the oldest ones
  // until the rest fit in `max_bytes`.
  PruneResult prune(std::chrono::system_clock::time_point now, std::chrono::seconds max_age,
                    uint64_t max_bytes) const;

 private:
  std::string markerOf(std::string_view id) const;
  std::string dir_;
};

// Parses a quarantine file's text (tests and fuzzing); nullopt when it is not one.
std::optional<Entry> parseEntry(std::string_view text);
std::string formatEnvelope(const Envelope& envelope);

}  // namespace spamgate::quarantine
