// The public entry points of the rules module.
#include "rules/rules.h"

#include "rules/loader.h"

namespace spamgate::rules {

std::string Diagnostic::text() const {
  return file + ":" + std::to_string(line) + ": " + message;
}

namespace detail {

std::string_view kindName(Kind kind) {
  switch (kind) {
    case Kind::Header:
      return "header";
    case Kind::Body:
      return "body";
    case Kind::Rawbody:
      return "rawbody";
    case Kind::Uri:
      return "uri";
    case Kind::Full:
      return "full";
    case Kind::Meta:
      return "meta";
  }
  return "?";
}

bool isRegexKind(Kind kind) {
  return kind != Kind::Meta;
}

}  // namespace detail

std::shared_ptr<const RuleSet> loadRules(const std::vector<std::string>& paths,
                                         const LoadOptions& options, LoadReport& report) {
  detail::Loader loader(options, report);
  for (const std::string& path : paths)
    loader.loadPath(path, 0);
  return loader.finish();
}

std::shared_ptr<const RuleSet> loadRulesText(std::string_view text, const std::string& origin,
                                             const LoadOptions& options, LoadReport& report) {
  detail::Loader loader(options, report);
  loader.loadText(text, origin, 0);
  return loader.finish();
}

}  // namespace spamgate::rules
