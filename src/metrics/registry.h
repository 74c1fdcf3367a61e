// The values of the metrics in families.h, and their Prometheus text exposition (format
// 0.0.4: "# HELP", "# TYPE", one sample per line; histograms as _bucket{le=...}, _sum, _count).
//
// Every value is a relaxed atomic, so any thread records without a lock and render() may run
// on another thread meanwhile (a scrape sees each value as it was at some moment; a histogram's
// _count is the sum of its buckets as read). Recording never allocates and never fails: a
// label value outside the family's set counts under "other" where the set has it, else
// nowhere. global() is the process's registry; tests make their own.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/families.h"

namespace spamgate::metrics {

class Registry {
 public:
  Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Counters and gauges. `label` is the series' label value ("" for an unlabelled family).
  void add(Id family, std::string_view label = {}, int64_t delta = 1);
  // Histograms, in the family's recording unit (microseconds, octets).
  void observe(Id family, std::string_view label, uint64_t value);

  // A counter's or gauge's value (a histogram's count); nullopt for a label not in its set.
  std::optional<int64_t> value(Id family, std::string_view label = {}) const;
  std::string render() const;

 private:
  std::optional<std::size_t> series(Id family, std::string_view label) const;
  std::atomic<uint64_t>* cells(Id family, std::size_t series) const;
  void renderFamily(std::string& out, Id family) const;
  void renderHistogram(std::string& out, Id family, std::size_t series) const;

  std::vector<std::size_t> offsets_;  // first cell of each family
  std::unique_ptr<std::atomic<uint64_t>[]> cells_;
};

Registry& global();

}  // namespace spamgate::metrics
