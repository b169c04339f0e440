// The authoring commands: `crible test`, `crible diff`, `crible fmt`. Each registers its
// own subcommand and options; cli/commands.cpp calls these at start-up.
#pragma once
#include <CLI/CLI.hpp>

namespace crible::cli {

// Each returns a callback that runs the command when its subcommand was parsed, so that
// commands.cpp need not know their options.
struct AuthoringCommand {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// The check of every `--threads`: a whole number from 0 (all cores) to eval::kMaxThreads.
CLI::Validator thread_count();
// A percentage, 0 to 100 (`--min-coverage`); "nan" and "inf" are not.
CLI::Validator percentage();

AuthoringCommand register_test_command(CLI::App& app);
AuthoringCommand register_diff_command(CLI::App& app);
AuthoringCommand register_fmt_command(CLI::App& app);

}  // namespace crible::cli
