// LineReader against a reference model. The input is split at fuzzer-chosen points and fed
// as the session does: lines drained after every append, and after a complete line sometimes
// a raw chunk (BDAT) of a fuzzer-chosen size. Invariants: the lines equal the model's, no line
// text is longer than the limit, and buffered() stays within limit + 1 in line mode.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "smtp/line_reader.h"

namespace {

using spamgate::smtp::LineReader;

void check(bool ok) {
  if (!ok) std::abort();
}

// The obvious, unbounded framing the reader must agree with.
struct Model {
  std::string pending;

  std::optional<LineReader::Line> next(std::size_t limit, std::string& storage) {
    const auto lf = pending.find('\n');
    if (lf == std::string::npos) return std::nullopt;
    LineReader::Line line;
    line.crlf = lf > 0 && pending[lf - 1] == '\r';
    storage = pending.substr(0, line.crlf ? lf - 1 : lf);
    pending.erase(0, lf + 1);
    line.overlong = storage.size() > limit;
    if (line.overlong) storage.clear();
    line.text = storage;
    return line;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  const std::size_t limit = input.ConsumeIntegralInRange<std::size_t>(0, 1100);
  LineReader reader;
  Model model;
  std::string model_text;
  std::string raw;
  std::string model_raw;
  std::uint64_t raw_left = 0;
  while (input.remaining_bytes() > 0) {
    const auto piece = input.ConsumeRandomLengthString(4096);
    reader.append(piece);
    model.pending += piece;
    for (;;) {
      if (raw_left > 0) {
        const auto taken = reader.takeRaw(raw_left, raw);
        const auto model_taken = std::min<std::uint64_t>(raw_left, model.pending.size());
        check(taken == model_taken);
        model_raw += model.pending.substr(0, taken);
        model.pending.erase(0, taken);
        raw_left -= taken;
        check(raw == model_raw);
        if (raw_left > 0) break;
      }
      auto line = reader.next(limit);
      auto expected = model.next(limit, model_text);
      check(line.has_value() == expected.has_value());
      if (!line) break;
      check(line->text == expected->text && line->crlf == expected->crlf &&
            line->overlong == expected->overlong);
      check(line->text.size() <= limit);
      if (input.ConsumeBool()) raw_left = input.ConsumeIntegralInRange<std::uint64_t>(0, 5000);
    }
    if (raw_left == 0) check(reader.buffered() <= limit + 1);
    check(reader.buffered() <= model.pending.size());
  }
  return 0;
}
