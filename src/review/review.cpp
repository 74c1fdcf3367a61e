#include "review/review.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <ostream>

#include "base/ascii.h"
#include "review/false_positives.h"
#include "review/parser.h"
#include "review/reader.h"
#include "review/render_html.h"
#include "review/render_json.h"
#include "review/render_text.h"
#include "review/summary.h"

namespace spamgate::review {

namespace {

// Reads every file, passing each decision to `use`; false when a file failed.
bool scan(const Options& o, bool full, Meta& meta, std::ostream& err,
          const std::function<void(const Record&)>& use) {
  RecordParser parser;
  Record record;
  const auto line = [&](std::string_view text) {
    ++meta.lines;
    if (!parser.parse(text, full, record)) return ++meta.skipped, void();
    use(record);
  };
  const std::vector<std::string> stdin_only = {"-"};
  bool ok = true;
  for (const auto& path : o.files.empty() ? stdin_only : o.files) {
    std::string error;
    if (!forEachLine(path, line, error)) {
      err << "spamgate review: " << (path == "-" ? "stdin" : path) << ": " << error << "\n";
      ok = false;
    }
  }
  if (meta.skipped > 0)
    err << "spamgate review: skipped " << meta.skipped << " lines that are not decisions\n";
  return ok;
}

bool writeFile(const std::string& path, const std::string& text, std::ostream& err) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (file) return true;
  err << "spamgate review: cannot write " << path << "\n";
  return false;
}

int summary(const Options& o, Meta& meta, std::ostream& out, std::ostream& err) {
  SummaryBuilder builder;
  const bool ok = scan(o, false, meta, err, [&](const Record& r) {
    if (o.filter.matches(r)) builder.add(r);
  });
  const Summary s = builder.finish(o.top);
  if (!o.html_path.empty()) return writeFile(o.html_path, summaryHtml(s, meta), err) && ok ? 0 : 1;
  out << (o.json ? summaryJson(s, meta) : summaryText(s, meta));
  return ok ? 0 : 1;
}

int list(const Options& o, Meta& meta, std::ostream& out, std::ostream& err) {
  std::vector<log::Decision> found;
  const bool ok = scan(o, false, meta, err, [&](const Record& r) {
    if (o.filter.matches(r)) found.push_back(toDecision(r));
  });
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.time_ms < b.time_ms; });
  out << (o.json ? listJson(found, meta) : listText(found));
  return ok ? 0 : 1;
}

int explain(const Options& o, Meta& meta, std::ostream& out, std::ostream& err) {
  std::vector<log::Decision> found;
  const bool ok = scan(o, true, meta, err, [&](const Record& r) {
    if (found.empty() && base::equalsIgnoreCase(r.id, o.explain_id) && o.filter.matches(r))
      found.push_back(toDecision(r));
  });
  if (found.empty()) {
    err << "spamgate review: no decision with id " << o.explain_id << " in the "
        << meta.lines - meta.skipped << " decisions read\n";
    return 1;
  }
  std::stable_sort(found[0].symbols.begin(), found[0].symbols.end(),
                   [](const auto& a, const auto& b) { return a.score > b.score; });
  out << (o.json ? explainJson(found[0], meta) : explainText(found[0]));
  return ok ? 0 : 1;
}

int falsePositives(const Options& o, Meta& meta, std::ostream& out, std::ostream& err) {
  FalsePositiveFinder finder(o.filter);
  const bool ok = scan(o, true, meta, err, [&](const Record& r) { finder.add(r); });
  const auto found = finder.finish();
  out << (o.json ? falsePositivesJson(found, meta) : falsePositivesText(found));
  return ok ? 0 : 1;
}

}  // namespace

int review(const Options& options, std::ostream& out, std::ostream& err) {
  Meta meta;
  meta.window = options.filter.window;
  switch (options.view) {
    case View::Summary:
      return summary(options, meta, out, err);
    case View::List:
      return list(options, meta, out, err);
    case View::Explain:
      return explain(options, meta, out, err);
    case View::FalsePositives:
      return falsePositives(options, meta, out, err);
  }
  return 1;
}

}  // namespace spamgate::review
