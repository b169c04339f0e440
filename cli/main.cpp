// The `crible` command: argument parsing and dispatch, thin over engine/. Exit codes:
// 0 ok, 1 rule errors, 2 usage, 3 input data errors, 4 audit store tampered, 5 out of memory.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>
#include <new>

#include "audit/audit.h"
#include "base/threads.h"
#include "cli/commands.h"
#include "cli/compile.h"

int main(int argc, char** argv) {
  using namespace crible::cli;
  try {
    CLI::App app{"crible: eligibility and anomaly screening rules for assisted voluntary return cases"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("crible ") + CRIBLE_VERSION);
    app.footer(
        "Exit codes: 0 ok, 1 rule errors, 2 usage errors, 3 input data errors, "
        "4 audit store tampered, 5 out of memory.\nRun `crible COMMAND --help` for a command's options.");
    Commands commands;
    register_commands(app, commands);
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      std::cerr << "error: " << e.what() << "\n";
      std::cerr << "run `crible --help` for usage\n";
      return kExitUsage;
    }
    const int code = run_selected(app, commands);
    if (const size_t refused = crible::refused_threads(); refused > 0) {
      std::cerr << fmt::format(
          "warning: the system refused {} thread{} (a limit on processes or memory: ulimit -u, "
          "ulimit -v); the work was done on fewer, to the same result\n",
          refused, refused == 1 ? "" : "s");
    }
    return code;
  } catch (const std::bad_alloc&) {
    std::cerr << "error: out of memory; nothing was written past the last committed batch\n";
    return kExitOutOfMemory;
  } catch (const crible::audit::CryptoFailure& e) {
    std::cerr << "error: " << e.what()
              << " (out of memory, or a broken OpenSSL installation); nothing was written past "
                 "the last committed batch\n";
    return kExitOutOfMemory;
  }
}
