// Files that survive a crash: written under a temporary name, fsynced, renamed into place and
// the directory fsynced, so a reader finds either no file or the whole of it (Maildir's rule).
// Blocking: call off the event loop. Errors come back as text with the path and errno's words
// ("open /x/tmp/NAME: Permission denied"); nothing throws.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace spamgate::base {

// mkdir -p with mode 0700.
bool makeDirs(const std::string& path, std::string& error);

// Writes `parts` to `tmp` (created exclusively, mode 0600) and fsyncs it, then renames it to
// `dest` and fsyncs dest's directory. On failure `tmp` is removed and `dest` left untouched.
bool writeDurably(const std::string& tmp, const std::string& dest,
                  std::initializer_list<std::string_view> parts, std::string& error);

bool syncDir(const std::string& dir, std::string& error);

// "what path: strerror(errno)".
std::string errnoText(const std::string& what, const std::string& path);

}  // namespace spamgate::base
