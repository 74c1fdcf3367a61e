#include "base/decision_id.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>

namespace spamgate::base {

namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

uint32_t randomStart() {
  std::random_device device;
  return device();
}

void appendBase32(std::string& out, uint64_t value, int digits) {
  for (int i = digits - 1; i >= 0; --i) {
    out += kAlphabet[(value >> (5 * i)) & 31];
  }
}

}  // namespace

std::string newDecisionId() {
  static std::atomic<uint32_t> counter{randomStart()};
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::string id;
  id.reserve(16);
  appendBase32(id, static_cast<uint64_t>(ms) & ((uint64_t{1} << 50) - 1), 10);
  appendBase32(id, counter.fetch_add(1, std::memory_order_relaxed) & ((1u << 30) - 1), 6);
  return id;
}

}  // namespace spamgate::base
