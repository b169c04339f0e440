// `crible fmt`: prints rule files in the canonical layout (engine/format), rewrites them with
// --write, or lists the ones not in it with --check (for CI and pre-commit hooks).
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include "base/diagnostic.h"
#include "cli/authoring.h"
#include "cli/compile.h"
#include "format/format.h"
#include "syntax/syntax.h"

namespace crible::cli {
namespace {

struct FmtOptions {
  std::vector<std::string> files;
  bool check = false;
  bool write = false;
};

// Writes next to the file, then renames over it: an interrupted run leaves the old file whole.
bool replace_file(const std::string& path, const std::string& text, std::string& error) {
  const std::string tmp = path + ".crible-fmt.tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    error = fmt::format("cannot write {}: {}", tmp, std::strerror(errno));
    return false;
  }
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  std::error_code ec;
  if (ok) {
    // Keep the file's permissions: only its layout changes.
    auto perms = std::filesystem::status(path, ec).permissions();
    if (!ec) std::filesystem::permissions(tmp, perms, ec);
    ok = std::rename(tmp.c_str(), path.c_str()) == 0;
  }
  if (!ok) {
    error = fmt::format("cannot write {}: {}", path, std::strerror(errno));
    std::remove(tmp.c_str());
  }
  return ok;
}

int run_fmt(const FmtOptions& o) {
  int worst = kExitOk;
  std::vector<std::string> unformatted;
  for (const auto& path : o.files) {
    bool ok = false;
    std::string error;
    std::string text = read_whole_file(path, ok, error);
    if (!ok) {
      std::cerr << "error: " << error << "\n";
      worst = std::max(worst, kExitRuleErrors);
      continue;
    }
    SourceSet sources;
    const uint32_t file = sources.add(path, std::move(text));
    const std::string& source = sources.file(file).text;
    auto parsed = syntax::parse(sources, file);
    if (!parsed.value) {
      // Only a file that parses has a layout to fix: say what to fix first, as `check` would.
      size_t errors = 0;
      for (const auto& d : parsed.diagnostics) {
        std::cerr << render_text(d, sources);
        errors += d.severity == Severity::Error;
      }
      std::cerr << fmt::format("{}: {} error{}; not formatted\n", path, errors,
                               errors == 1 ? "" : "s");
      worst = std::max(worst, kExitRuleErrors);
      continue;
    }
    auto formatted = format::format(*parsed.value, source);
    if (!formatted) {
      std::cerr << fmt::format("error: {}: cannot format: {} (please report this)\n", path,
                               formatted.error().message);
      worst = std::max(worst, kExitRuleErrors);
      continue;
    }
    const bool changed = formatted.value() != source;
    if (o.check) {
      if (changed) unformatted.push_back(path);
    } else if (o.write) {
      if (changed && !replace_file(path, formatted.value(), error)) {
        std::cerr << "error: " << error << "\n";
        worst = std::max(worst, kExitData);
      }
    } else {
      std::cout << formatted.value();
    }
  }
  if (o.check && !unformatted.empty()) {
    for (const auto& path : unformatted) std::cout << path << "\n";
    std::cerr << fmt::format("{} file{} not formatted: run `crible fmt --write` on {}\n",
                             unformatted.size(), unformatted.size() == 1 ? " is" : "s are",
                             unformatted.size() == 1 ? "it" : "them");
    worst = std::max(worst, kExitRuleErrors);
  }
  std::cout.flush();
  return worst;
}

}  // namespace

AuthoringCommand register_fmt_command(CLI::App& app) {
  auto opts = std::make_shared<FmtOptions>();
  CLI::App* sub = app.add_subcommand("fmt", "Lay out rule files canonically (comments kept)");
  sub->add_option("FILE", opts->files, "Rule files")->required();
  auto* check =
      sub->add_flag("--check", opts->check,
                    "Change nothing; list the files that are not formatted, exit 1 if any");
  auto* write =
      sub->add_flag("--write", opts->write, "Rewrite the files in place instead of printing them");
  check->excludes(write);
  sub->footer(
      "Without --check or --write, prints the formatted files to stdout.\n"
      "Exit codes: 0 ok (with --check: every file is formatted), 1 a file is not formatted "
      "(--check) "
      "or does not parse, 2 usage errors, 3 a file could not be rewritten.");
  return {sub, [opts] { return run_fmt(*opts); }};
}

}  // namespace crible::cli
