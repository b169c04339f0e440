// Runs the built `crible` binary as a user would, for golden and end-to-end tests.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace crible::testing {

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
  // "exit: N\n" + stderr: what golden diagnostics files hold.
  std::string summary() const;
};

std::filesystem::path crible_bin();
std::filesystem::path source_dir();
std::filesystem::path test_data();

// Runs crible with args; stdin is /dev/null unless stdin_text is given; cwd is the source dir
// so that paths in messages are relative and stable.
Run run_crible(const std::vector<std::string>& args, const std::string& stdin_text = {});

// Limits for one run of crible, set on it alone by util-linux's prlimit(1); 0 leaves one as
// it is. `address_space` is RLIMIT_AS (ulimit -v), `stack` RLIMIT_STACK, which is also the
// size glibc gives each new thread's stack.
struct Limits {
  unsigned long long address_space = 0;
  unsigned long long stack = 0;
};
Run run_crible_limited(const std::vector<std::string>& args, const Limits& limits);

std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::string& text);
// Empty when expected == actual, else "<golden>: first difference at line N" with both lines.
std::string first_difference(const std::filesystem::path& golden, const std::string& expected,
                             const std::string& actual);
// Compares actual with the golden file, or rewrites it when CRIBLE_BLESS=1. Returns an empty
// string on match, else a description of the first difference.
std::string compare_golden(const std::filesystem::path& golden, const std::string& actual);
// A fresh empty directory under the build's temp area.
std::filesystem::path temp_dir(const std::string& name);

}  // namespace crible::testing
