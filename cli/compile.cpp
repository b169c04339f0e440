// Compiling rule files and loading run inputs, shared by check, eval, review and test.
#include "cli/compile.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "check/check.h"
#include "syntax/syntax.h"
#include "render/render.h"

namespace crible::cli {

std::string read_whole_file(const std::string& path, bool& ok, std::string& error) {
  ok = false;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = fmt::format("cannot open {}: {}", path, std::strerror(errno));
    return {};
  }
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  bool bad = std::ferror(f);
  std::fclose(f);
  if (bad) {
    error = fmt::format("cannot read {}: {}", path, std::strerror(errno));
    return {};
  }
  ok = true;
  return out;
}

std::optional<Compiled> compile(const std::string& path, DiagFormat format, bool werror,
                                int& exit_code) {
  Compiled c;
  bool ok = false;
  std::string error;
  std::string text = read_whole_file(path, ok, error);
  if (!ok) {
    if (format == DiagFormat::Json) {
      std::cout << fmt::format(R"({{"file":"{}","severity":"error","code":"F0001","message":"{}","hint":""}})",
                               path, error)
                << "\n";
    } else {
      std::cerr << "error: " << error << "\n";
    }
    exit_code = kExitRuleErrors;
    return std::nullopt;
  }
  c.file = c.sources.add(path, std::move(text));
  std::vector<Diagnostic> diags;
  auto parsed = syntax::parse(c.sources, c.file);
  diags = parsed.diagnostics;
  std::optional<check::TypedRuleset> rules;
  if (parsed.value) {
    auto checked = check::check(*parsed.value, c.sources);
    diags.insert(diags.end(), checked.diagnostics.begin(), checked.diagnostics.end());
    rules = std::move(checked.value);
  }
  size_t errors = 0;
  for (auto& d : diags) {
    if (werror && d.severity == Severity::Warning) d.severity = Severity::Error;
    if (d.severity == Severity::Error) ++errors;
    else ++c.warnings;
    if (format == DiagFormat::Json) std::cout << render_json(d, c.sources) << "\n";
    else std::cerr << render_text(d, c.sources);
  }
  if (errors > 0 || !rules) {
    if (format == DiagFormat::Text)
      std::cerr << fmt::format("{}: {} error{}{}\n", path, errors, errors == 1 ? "" : "s",
                               c.warnings ? fmt::format(", {} warning{}", c.warnings, c.warnings == 1 ? "" : "s") : "");
    exit_code = kExitRuleErrors;
    return std::nullopt;
  }
  c.rules = std::move(*rules);
  return c;
}

bool split_assignment(const std::string& arg, std::pair<std::string, std::string>& out) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  out = {arg.substr(0, eq), arg.substr(eq + 1)};
  return true;
}

std::unique_ptr<Loaded> load(const Compiled& compiled, const LoadRequest& request, int& exit_code) {
  const check::TypedRuleset& rules = compiled.rules;
  auto loaded = std::make_unique<Loaded>();
  loaded->cases_path = request.cases_path;

  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& a : request.param_args) {
    std::pair<std::string, std::string> kv;
    if (!split_assignment(a, kv)) {
      std::cerr << fmt::format("error: --param expects NAME=VALUE, got '{}'\n", a);
      exit_code = kExitUsage;
      return nullptr;
    }
    params.push_back(kv);
  }
  auto planned = plan::plan(rules, loaded->interner, params);
  if (!planned) {
    std::cerr << "error: " << planned.error().message << "\n";
    exit_code = planned.error().exit_code;
    return nullptr;
  }
  loaded->plan = std::move(planned.value());

  // Tables: every declared table needs a file; an unknown name is a usage error.
  std::vector<std::string> table_path(rules.tables.size());
  for (const auto& a : request.table_args) {
    std::pair<std::string, std::string> kv;
    if (!split_assignment(a, kv)) {
      std::cerr << fmt::format("error: --table expects NAME=PATH, got '{}'\n", a);
      exit_code = kExitUsage;
      return nullptr;
    }
    int found = -1;
    for (size_t i = 0; i < rules.tables.size(); ++i)
      if (rules.tables[i].name == kv.first) found = static_cast<int>(i);
    if (found < 0) {
      std::vector<std::string> names;
      for (const auto& t : rules.tables) names.push_back(t.name);
      std::cerr << fmt::format("error: --table {}: the ruleset declares no table '{}' (tables: {})\n",
                               kv.first, kv.first, names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")));
      exit_code = kExitUsage;
      return nullptr;
    }
    table_path[found] = kv.second;
  }
  for (size_t i = 0; i < rules.tables.size(); ++i) {
    if (table_path[i].empty()) {
      std::cerr << fmt::format("error: the ruleset needs table '{}': give it with --table {}=PATH\n",
                               rules.tables[i].name, rules.tables[i].name);
      exit_code = kExitUsage;
      return nullptr;
    }
  }
  for (size_t i = 0; i < rules.tables.size(); ++i) {
    data::LoadOptions opts;
    opts.wanted = rules.table_fields_read[i];
    opts.threads = request.threads;  // --threads 1 means one thread, loading included
    auto t = data::load_csv(table_path[i], rules.tables[i], loaded->interner, opts, false);
    if (!t) {
      std::cerr << "error: " << t.error().message << "\n";
      exit_code = t.error().exit_code;
      return nullptr;
    }
    loaded->tables.push_back(std::move(t.value()));
    loaded->table_paths.push_back({rules.tables[i].name, table_path[i]});
  }

  data::LoadOptions opts;
  opts.threads = request.threads;
  opts.wanted.assign(rules.cases.columns.size(), false);
  for (size_t i = 0; i < opts.wanted.size(); ++i)
    opts.wanted[i] = rules.case_fields_read[i] || rules.row_fields_read[i];
  auto cases = data::load_csv(request.cases_path, rules.cases, loaded->interner, opts, true);
  if (!cases) {
    std::cerr << "error: " << cases.error().message << "\n";
    exit_code = cases.error().exit_code;
    return nullptr;
  }
  loaded->cases = std::move(cases.value());
  // Every text of the run is interned by now (the plan's literals, then the tables' and the
  // cases' values): evaluation and recording only read texts by id. The lookup table is
  // freed, so that a million cases' index building and review reuse its 32 MB instead of
  // adding to the peak (crible review's peak had come within 1% of twice cases.csv).
  loaded->interner.release_lookup();

  std::vector<const data::Table*> table_ptrs;
  for (const auto& t : loaded->tables) table_ptrs.push_back(&t);
  auto ev = eval::Evaluator::prepare(loaded->plan, loaded->cases, table_ptrs, request.threads);
  if (!ev) {
    std::cerr << "error: " << ev.error().message << "\n";
    exit_code = ev.error().exit_code;
    return nullptr;
  }
  loaded->evaluator = std::move(ev.value());
  return loaded;
}

void report_rejects(const Loaded& loaded, const std::string& rejects_path, int& exit_code) {
  struct Named {
    const std::string* path;
    const data::Table* table;
  };
  std::vector<Named> all;
  for (size_t i = 0; i < loaded.tables.size(); ++i)
    all.push_back({&loaded.table_paths[i].path, &loaded.tables[i]});
  all.push_back({&loaded.cases_path, &loaded.cases});
  size_t total = 0;
  for (const auto& n : all) total += n.table->rejects.size();
  if (!rejects_path.empty()) {
    std::ofstream out(rejects_path, std::ios::binary);
    if (!out) {
      std::cerr << fmt::format("error: cannot write {}: {}\n", rejects_path, std::strerror(errno));
      exit_code = kExitData;
      return;
    }
    out << "file,line,column,reason\n";
    for (const auto& n : all)
      for (const auto& r : n.table->rejects)
        out << render::csv_field(*n.path) << ',' << r.line << ',' << render::csv_field(r.column) << ','
            << render::csv_field(r.reason) << '\n';
    return;
  }
  // Without --rejects: the first few on stderr, so nothing is lost silently.
  constexpr size_t kShown = 20;
  size_t shown = 0;
  for (const auto& n : all) {
    for (const auto& r : n.table->rejects) {
      if (shown++ >= kShown) break;
      std::cerr << fmt::format("rejected {}:{}: {}{}\n", *n.path, r.line,
                               r.column.empty() ? "" : "column " + r.column + ": ", r.reason);
    }
  }
  if (total > kShown)
    std::cerr << fmt::format("... and {} more rejected rows: list them all with --rejects FILE\n", total - kShown);
}

}  // namespace crible::cli
