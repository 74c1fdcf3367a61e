// The rules file parser (src/rules: loadRulesText) on arbitrary text, as an operator's or a
// third party's rules file could hold: directives, regexes PCRE2 must refuse cleanly, metas
// with cycles and deep nesting, unbalanced if/endif. Whatever the text, loading ends with a
// rule set, every diagnostic names the file and a line within it, and the set scans a small
// message without a problem.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mime/message.h"
#include "rules/rules.h"

namespace {

using namespace spamgate;

void check(bool ok) {
  if (!ok) std::abort();
}

std::size_t lineCount(std::string_view text) {
  std::size_t lines = 0;
  for (char c : text)
    lines += c == '\n' ? 1 : 0;
  return lines + 1;
}

void checkDiagnostics(const std::vector<rules::Diagnostic>& list, std::size_t lines) {
  for (const rules::Diagnostic& d : list) {
    check(d.file == "fuzz.cf");
    check(d.line >= 1 && d.line <= lines);
    check(!d.message.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // include lines read real files: keep them out, the parser is what is fuzzed here.
  if (text.find("include") != std::string_view::npos) return 0;
  rules::LoadOptions options;
  options.match_limit = 10000;
  options.depth_limit = 1000;
  options.external_names = {"SPF_FAIL", "DKIM_PASS"};
  rules::LoadReport report;
  auto set = rules::loadRulesText(text, "fuzz.cf", options, report);
  check(set != nullptr);
  std::size_t lines = lineCount(text);
  checkDiagnostics(report.errors, lines);
  checkDiagnostics(report.warnings, lines);
  checkDiagnostics(report.notes, lines);

  mime::Message message;
  message.headers = {{"Subject", "=?utf-8?q?hi?=", "hi"}, {"From", "a <a@example.com>", "a"}};
  message.body = "hi there\nsecond line";
  message.rawbody = message.body;
  message.uris = {"http://example.com/"};
  rules::ScanResult result =
      rules::scan(*set, message, "Subject: hi\r\n\r\nhi there\r\n", {"SPF_FAIL"});
  for (const rules::Hit& hit : result.hits)
    check(!hit.name.empty() && hit.count >= 1);
  return 0;
}
