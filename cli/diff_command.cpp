// `crible diff OLD NEW --cases CASES`: what a rule change would do to real people. Both
// rulesets are compiled and their cases loaded and decided here; the comparison and its
// report are engine/diff.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cli/authoring.h"
#include "cli/compile.h"
#include "cli/output.h"
#include "diff/diff.h"
#include "render/render.h"

namespace crible::cli {
namespace {

struct DiffOptions {
  std::string old_rules, new_rules;
  std::string cases;
  std::vector<std::string> tables, params;
  std::string format = "text";
  std::string out = "-";
  int threads = 0;
};

// One ruleset's side as the command loads it.
struct Loading {
  std::string path;
  const Compiled* compiled = nullptr;
  Loaded* loaded = nullptr;
  const check::TypedRuleset& rules() const { return compiled->rules; }
};

// The --table and --param arguments one ruleset declares: a ruleset that adds a table can be
// compared with one that does not. A name neither declares is a usage error.
bool split_for(const std::vector<std::string>& args, const char* option,
               const std::vector<std::string>& old_names, const std::vector<std::string>& new_names,
               std::vector<std::string>& old_args, std::vector<std::string>& new_args) {
  for (const auto& a : args) {
    std::pair<std::string, std::string> kv;
    if (!split_assignment(a, kv)) {
      std::cerr << fmt::format("error: {} expects NAME={}, got '{}'\n", option,
                               std::string(option) == "--table" ? "PATH" : "VALUE", a);
      return false;
    }
    const bool in_old = std::find(old_names.begin(), old_names.end(), kv.first) != old_names.end();
    const bool in_new = std::find(new_names.begin(), new_names.end(), kv.first) != new_names.end();
    if (!in_old && !in_new) {
      std::cerr << fmt::format("error: {} {}: neither ruleset declares a {} '{}'\n", option,
                               kv.first, std::string(option) == "--table" ? "table" : "parameter",
                               kv.first);
      return false;
    }
    if (in_old) old_args.push_back(a);
    if (in_new) new_args.push_back(a);
  }
  return true;
}

// Both rulesets must accept the same rows of the cases file, so that row r is the same
// person on both sides.
bool same_cases(const Loading& a, const Loading& b, const std::string& cases_path) {
  const size_t na = a.loaded->cases.rows, nb = b.loaded->cases.rows;
  auto key = [](const Loading& s, size_t r) {
    return render::case_key(s.rules(), s.loaded->cases, s.loaded->interner, r);
  };
  bool same = na == nb;
  for (size_t r = 0; same && r < na; ++r) same = key(a, r) == key(b, r);
  if (same) return true;
  std::set<std::string> ka, kb;
  for (size_t r = 0; r < na; ++r) ka.insert(key(a, r));
  for (size_t r = 0; r < nb; ++r) kb.insert(key(b, r));
  std::vector<std::string> only_a, only_b;
  std::set_difference(ka.begin(), ka.end(), kb.begin(), kb.end(), std::back_inserter(only_a));
  std::set_difference(kb.begin(), kb.end(), ka.begin(), ka.end(), std::back_inserter(only_b));
  auto first = [](const std::vector<std::string>& v) {
    return v.empty() ? std::string() : fmt::format(" (first: {})", v.front());
  };
  std::cerr << fmt::format(
      "error: the two rulesets do not accept the same cases from {}: {} accepted by {} only{}, {} "
      "by {} "
      "only{}\nhint: their case schemas must agree on which rows are valid (types, required "
      "columns, key); compare the rejected rows of `crible eval` with each\n",
      cases_path, only_a.size(), a.path, first(only_a), only_b.size(), b.path, first(only_b));
  return false;
}

bool same_rejects(const Loaded& a, const Loaded& b) {
  auto same = [](const data::Table& x, const data::Table& y) {
    if (x.rejects.size() != y.rejects.size()) return false;
    for (size_t i = 0; i < x.rejects.size(); ++i)
      if (x.rejects[i].line != y.rejects[i].line || x.rejects[i].reason != y.rejects[i].reason)
        return false;
    return true;
  };
  if (!same(a.cases, b.cases) || a.tables.size() != b.tables.size()) return false;
  for (size_t i = 0; i < a.tables.size(); ++i)
    if (!same(a.tables[i], b.tables[i])) return false;
  return true;
}

int run_diff(const DiffOptions& o) {
  int code_old = kExitOk, code_new = kExitOk;
  auto old_compiled = compile(o.old_rules, DiagFormat::Text, false, code_old);
  auto new_compiled = compile(o.new_rules, DiagFormat::Text, false, code_new);
  if (!old_compiled || !new_compiled) return std::max(code_old, code_new);

  auto names = [](const auto& items) {
    std::vector<std::string> out;
    for (const auto& x : items) out.push_back(x.name);
    return out;
  };
  LoadRequest old_req{o.cases, {}, {}, o.threads}, new_req{o.cases, {}, {}, o.threads};
  if (!split_for(o.tables, "--table", names(old_compiled->rules.tables),
                 names(new_compiled->rules.tables), old_req.table_args, new_req.table_args) ||
      !split_for(o.params, "--param", names(old_compiled->rules.parameters),
                 names(new_compiled->rules.parameters), old_req.param_args, new_req.param_args))
    return kExitUsage;

  int code = kExitOk;
  auto old_loaded = load(*old_compiled, old_req, code);
  if (!old_loaded) return code;
  auto new_loaded = load(*new_compiled, new_req, code);
  if (!new_loaded) return code;

  if (!same_cases({o.old_rules, &*old_compiled, old_loaded.get()},
                  {o.new_rules, &*new_compiled, new_loaded.get()}, o.cases))
    return kExitData;
  report_rejects(*old_loaded, "", code);
  if (!same_rejects(*old_loaded, *new_loaded)) report_rejects(*new_loaded, "", code);
  if (code != kExitOk) return code;

  const eval::Decisions old_decisions = old_loaded->evaluator->evaluate_all(o.threads);
  const eval::Decisions new_decisions = new_loaded->evaluator->evaluate_all(o.threads);
  auto sink = Sink::open(o.out, /*whole=*/true);
  if (!sink) return kExitData;
  const diff::Format format = o.format == "csv"    ? diff::Format::Csv
                              : o.format == "json" ? diff::Format::Json
                                                   : diff::Format::Text;
  diff::write_report({o.old_rules, old_compiled->rules, old_loaded->cases, old_loaded->interner,
                      *old_loaded->evaluator, old_decisions},
                     {o.new_rules, new_compiled->rules, new_loaded->cases, new_loaded->interner,
                      *new_loaded->evaluator, new_decisions},
                     format, [&](const std::string& piece) { sink->write(piece); });
  return sink->close() ? kExitOk : kExitData;
}

}  // namespace

AuthoringCommand register_diff_command(CLI::App& app) {
  auto opts = std::make_shared<DiffOptions>();
  CLI::App* sub =
      app.add_subcommand("diff", "Decide the same cases with two rulesets; show what changes");
  sub->add_option("OLD", opts->old_rules, "The ruleset in force")->required();
  sub->add_option("NEW", opts->new_rules, "The proposed ruleset")->required();
  sub->add_option("--cases", opts->cases, "Cases CSV file")->required();
  sub->add_option("--table", opts->tables,
                  "Reference table NAME=PATH (repeatable; given to each ruleset that declares it)");
  sub->add_option("--param", opts->params,
                  "Parameter NAME=VALUE (repeatable; given to each ruleset that declares it)");
  sub->add_option("--format", opts->format, "text (default), csv or json")
      ->check(CLI::IsMember({"text", "csv", "json"}));
  sub->add_option("--out", opts->out, "Output file, or - for stdout (default)");
  sub->add_option("--threads", opts->threads, "Threads (default: all cores)")
      ->check(thread_count());
  sub->footer(
      "Lists every case whose disposition, scores or findings change, with the findings that "
      "changed and their evidence, then the matrix of disposition transitions (text and json). "
      "Unchanged cases are counted, not listed.\n"
      "CSV output: "
      "case_id,old_disposition,new_disposition,old_<score>...,new_<score>...,changed_rules "
      "— one row per changed case, in input order.\n"
      "Exit codes: 0 ok (differences are not an error), 1 rule errors, 2 usage errors, 3 input "
      "data errors.");
  return {sub, [opts] { return run_diff(*opts); }};
}

}  // namespace crible::cli
