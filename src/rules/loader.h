// The rules loader: reads files (parser.cpp), then links what it read into a RuleSet
// (link.cpp): duplicates, meta dependencies, cycles, scores, what runs at scan.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rules/internal.h"
#include "rules/replace_tags.h"

namespace spamgate::rules::detail {

struct Where {
  std::string file;
  unsigned line = 0;
};

// A per-name setting (score, describe, tflags): the last line wins.
struct Setting {
  std::string value;
  double number = 0;
  Where where;
};

class Loader {
 public:
  Loader(const LoadOptions& options, LoadReport& report) : options_(options), report_(report) {}

  void loadPath(const std::string& path, int depth);
  void loadText(std::string_view text, const std::string& origin, int depth);
  std::shared_ptr<const RuleSet> finish();

 private:
  struct Frame {
    bool active;
    bool outer_active;
    const char* reason;  // why the lines are skipped when inactive
  };

  void line(std::string_view text, const Where& where, int depth);
  bool conditional(std::string_view directive, std::string_view rest, const Where& where);
  bool active() const { return frames_.empty() || frames_.back().active; }
  void inactiveLine(std::string_view directive, std::string_view rest);
  void directive(std::string_view name, std::string_view rest, const Where& where, int depth);
  void defineRule(Kind kind, std::string_view rest, const Where& where);
  bool parseHeader(Rule& rule, std::string_view spec, std::string& error);
  bool compileInto(Rule& rule, std::string_view text, uint32_t extra, std::string& error);
  bool compile(Rule& rule, const Delimited& re, uint32_t extra, std::string& error);
  void addShortcuts(Rule& rule, const Delimited& re, uint32_t extra) const;
  void reject(Kind kind, std::string_view name, const Where& where, const std::string& problem);
  bool replaceSetting(std::string_view name, std::string_view rest, const Where& where);
  void applyReplaceTags();
  void include(std::string_view rest, const Where& where, int depth);
  void skip(std::string_view name, const std::string& reason);
  void drop(std::string_view name, const std::string& reason);
  bool parseField(HeaderSpec& header, std::string_view text, std::string& error);
  bool pseudoField(HeaderSpec& header, std::string_view name, std::string& error);
  void keep(Rule rule);
  void error(const Where& where, std::string message);
  void warning(const Where& where, std::string message);
  bool evaluateCondition(std::string_view text, const Where& where);

  // link.cpp
  using NameIndex = std::unordered_map<std::string, uint32_t>;
  std::vector<std::size_t> metaOrder();
  void resolveMetas();
  void resolveNames(RuleSet& set, const NameIndex& index);
  void applySettings(std::vector<Rule>& rules, const NameIndex& index);
  void applyTflags(Rule& rule, const Setting& setting);
  void markNeeded(RuleSet& set, const NameIndex& index);
  static void indexLiterals(RuleSet& set);

  const LoadOptions& options_;
  LoadReport& report_;
  std::vector<Rule> rules_;  // in definition order; dead ones have no name
  std::unordered_map<std::string, std::size_t> index_;     // live name -> rules_ position
  std::unordered_map<std::string, std::string> unusable_;  // skipped or broken name -> reason
  std::map<std::string, Setting> scores_, describes_, tflags_;
  std::vector<Frame> frames_;
  ReplaceTags replace_;
  std::vector<std::string> directory_;   // of the file being read, for include
  std::vector<std::size_t> cycle_;       // metas on or behind a dependency cycle
  std::vector<std::string> meta_order_;  // live metas, dependencies first
};

}  // namespace spamgate::rules::detail
