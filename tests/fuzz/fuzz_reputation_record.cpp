// checks::reputation::decode on arbitrary bytes: a record read back from a shared Redis (or
// the LMDB file) may have been written by another version, by hand, or by an attacker with
// access to the store. Invariants: an accepted record has finite, non-negative counts, survives
// encode/decode, and decaying it to any time keeps the counts finite and non-negative with a
// bad share in [0, 1].
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "checks/reputation.h"

namespace {

using namespace spamgate::checks::reputation;

void check(bool ok) {
  if (!ok) std::abort();
}

void checkCounts(const Record& r) {
  for (double count : {r.accept, r.tag, r.tempfail, r.reject})
    check(std::isfinite(count) && count >= 0);
  const double share = r.badShare();
  check(share >= 0 && share <= 1 + 1e-9);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto record = decode(text);
  if (!record) return 0;
  checkCounts(*record);
  const auto again = decode(encode(*record));
  check(again.has_value());
  checkCounts(*again);
  int64_t now = 0;
  std::memcpy(&now, data, std::min(size, sizeof now));
  for (int64_t when : {now, record->updated_ms + 1000, int64_t{1764467915277}}) {
    checkCounts(decayed(*record, when, std::chrono::hours(24 * 7)));
  }
  return 0;
}
