// Helpers for the rules tests: a rule set from text, a message built by hand.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "mime/message.h"
#include "rules/rules.h"

namespace spamgate::rules::testing {

struct Loaded {
  std::shared_ptr<const RuleSet> set;
  LoadReport report;
};

inline Loaded load(std::string_view text, LoadOptions options = {}) {
  Loaded out;
  out.set = loadRulesText(text, "test.cf", options, out.report);
  return out;
}

inline std::vector<std::string> texts(const std::vector<Diagnostic>& list) {
  std::vector<std::string> out;
  for (const Diagnostic& d : list)
    out.push_back(d.text());
  return out;
}

inline mime::Message message(std::vector<mime::Header> headers, std::string body = "",
                             std::string rawbody = "", std::vector<std::string> uris = {}) {
  mime::Message m;
  m.headers = std::move(headers);
  m.body = std::move(body);
  m.rawbody = std::move(rawbody);
  m.uris = std::move(uris);
  return m;
}

inline mime::Header header(std::string name, std::string raw, std::string decoded = "") {
  if (decoded.empty()) decoded = raw;
  return {std::move(name), std::move(raw), std::move(decoded)};
}

// Names of the hits, in order.
inline std::vector<std::string> hitNames(const ScanResult& result) {
  std::vector<std::string> out;
  for (const Hit& hit : result.hits)
    out.push_back(hit.name);
  return out;
}

inline const Hit* findHit(const ScanResult& result, std::string_view name) {
  auto it = std::find_if(result.hits.begin(), result.hits.end(),
                         [&](const Hit& h) { return h.name == name; });
  return it == result.hits.end() ? nullptr : &*it;
}

}  // namespace spamgate::rules::testing
