#include "metrics/registry.h"

#include <charconv>

namespace spamgate::metrics {

namespace {

constexpr int kFirstCode = 100;
constexpr int kLastCode = 599;

std::size_t seriesCount(const Label& label) {
  switch (label.kind) {
    case LabelKind::None:
      return 1;
    case LabelKind::Fixed:
      return label.values.size();
    case LabelKind::ReplyCode:
      return kLastCode - kFirstCode + 1;
  }
  return 1;
}

// Per series: a counter or gauge is one cell; a histogram is a cell per bucket (+Inf last,
// not cumulative) and one for the sum.
std::size_t cellsPerSeries(const Family& family) {
  return family.type == Type::Histogram ? family.buckets.bounds.size() + 2 : 1;
}

std::string labelValue(const Label& label, std::size_t i) {
  if (label.kind == LabelKind::ReplyCode) return std::to_string(kFirstCode + static_cast<int>(i));
  return std::string(label.values[i]);
}

std::optional<std::size_t> fixedIndex(const Label& label, std::string_view value) {
  std::optional<std::size_t> other;
  for (std::size_t i = 0; i < label.values.size(); ++i) {
    if (label.values[i] == value) return i;
    if (label.values[i] == "other") other = i;
  }
  return other;
}

std::optional<std::size_t> codeIndex(std::string_view value) {
  int code = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), code);
  if (error != std::errc{} || end != value.data() + value.size()) return std::nullopt;
  if (code < kFirstCode || code > kLastCode) return std::nullopt;
  return static_cast<std::size_t>(code - kFirstCode);
}

std::string number(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

// `{name="value"` plus `extra` (already formatted) and `}`; "" without labels. Label values
// come from fixed sets and codes: nothing to escape.
std::string labels(const Label& label, std::size_t series, const std::string& extra = {}) {
  std::string out;
  if (label.kind != LabelKind::None) {
    out = label.name;
    out += "=\"" + labelValue(label, series) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? out : "{" + out + "}";
}

}  // namespace

Registry::Registry() {
  std::size_t total = 0;
  for (const auto& family : kFamilies) {
    offsets_.push_back(total);
    total += seriesCount(family.label) * cellsPerSeries(family);
  }
  cells_ = std::make_unique<std::atomic<uint64_t>[]>(total);  // value-initialised: zero
}

std::optional<std::size_t> Registry::series(Id family, std::string_view label) const {
  const Label& l = kFamilies[family].label;
  switch (l.kind) {
    case LabelKind::None:
      return 0;
    case LabelKind::Fixed:
      return fixedIndex(l, label);
    case LabelKind::ReplyCode:
      return codeIndex(label);
  }
  return std::nullopt;
}

std::atomic<uint64_t>* Registry::cells(Id family, std::size_t series) const {
  return &cells_[offsets_[family] + series * cellsPerSeries(kFamilies[family])];
}

void Registry::add(Id family, std::string_view label, int64_t delta) {
  if (const auto s = series(family, label)) {
    // Gauges go down too: two's complement wrap-around makes a negative delta a subtraction.
    cells(family, *s)->fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed);
  }
}

void Registry::observe(Id family, std::string_view label, uint64_t value) {
  const auto s = series(family, label);
  if (!s) return;
  const auto bounds = kFamilies[family].buckets.bounds;
  std::size_t bucket = 0;
  while (bucket < bounds.size() && value > bounds[bucket])
    ++bucket;
  auto* c = cells(family, *s);
  c[bucket].fetch_add(1, std::memory_order_relaxed);
  c[bounds.size() + 1].fetch_add(value, std::memory_order_relaxed);
}

std::optional<int64_t> Registry::value(Id family, std::string_view label) const {
  const auto s = series(family, label);
  if (!s) return std::nullopt;
  const auto* c = cells(family, *s);
  const std::size_t n =
      kFamilies[family].type == Type::Histogram ? kFamilies[family].buckets.bounds.size() + 1 : 1;
  uint64_t total = 0;
  for (std::size_t i = 0; i < n; ++i)
    total += c[i].load(std::memory_order_relaxed);
  return static_cast<int64_t>(total);
}

std::string Registry::render() const {
  std::string out;
  for (Id family = 0; family < kFamilyCount; ++family)
    renderFamily(out, family);
  return out;
}

void Registry::renderFamily(std::string& out, Id family) const {
  static constexpr std::string_view kTypeNames[] = {"counter", "gauge", "histogram"};
  const Family& f = kFamilies[family];
  const std::string name = std::string(kPrefix) + std::string(f.name);
  out += "# HELP " + name + " " + std::string(f.help) + "\n";
  out += "# TYPE " + name + " " + std::string(kTypeNames[static_cast<int>(f.type)]) + "\n";
  for (std::size_t s = 0, n = seriesCount(f.label); s < n; ++s) {
    if (f.type == Type::Histogram) {
      renderHistogram(out, family, s);
      continue;
    }
    const auto v = static_cast<int64_t>(cells(family, s)->load(std::memory_order_relaxed));
    if (f.label.kind == LabelKind::ReplyCode && v == 0) continue;  // only the codes seen
    out += name + labels(f.label, s) + " " + std::to_string(v) + "\n";
  }
}

void Registry::renderHistogram(std::string& out, Id family, std::size_t series) const {
  const Family& f = kFamilies[family];
  const std::string name = std::string(kPrefix) + std::string(f.name);
  const auto bounds = f.buckets.bounds;
  const auto* c = cells(family, series);
  uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= bounds.size(); ++b) {
    cumulative += c[b].load(std::memory_order_relaxed);
    const std::string le =
        b < bounds.size() ? number(static_cast<double>(bounds[b]) / f.buckets.unit) : "+Inf";
    out += name + "_bucket" + labels(f.label, series, "le=\"" + le + "\"") + " " +
           std::to_string(cumulative) + "\n";
  }
  const auto sum = static_cast<double>(c[bounds.size() + 1].load(std::memory_order_relaxed));
  out += name + "_sum" + labels(f.label, series) + " " + number(sum / f.buckets.unit) + "\n";
  out += name + "_count" + labels(f.label, series) + " " + std::to_string(cumulative) + "\n";
}

Registry& global() {
  static Registry registry;
  return registry;
}

}  // namespace spamgate::metrics
