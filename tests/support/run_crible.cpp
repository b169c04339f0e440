// Runs the `crible` binary in a child process with stdout and stderr captured to files.
#include "support/run_crible.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace crible::testing {
namespace fs = std::filesystem;

static std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : fallback;
}

fs::path crible_bin() { return env_or("CRIBLE_BIN", "crible"); }
fs::path source_dir() { return env_or("CRIBLE_SOURCE_DIR", "."); }
fs::path test_data() { return env_or("CRIBLE_TEST_DATA", "tests/data"); }

std::string Run::summary() const { return "exit: " + std::to_string(exit_code) + "\n" + err; }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << text;
}

fs::path temp_dir(const std::string& name) {
  fs::path base = fs::temp_directory_path() / ("crible-test-" + std::to_string(getpid()));
  fs::path dir = base / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

namespace {

// Runs argv_s[0] with the rest as its arguments, as run_crible describes.
Run run_program(std::vector<std::string> argv_s, const std::string& stdin_text) {
  fs::path dir = temp_dir("run");
  fs::path out_path = dir / "stdout", err_path = dir / "stderr", in_path = dir / "stdin";
  write_file(in_path, stdin_text);
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addchdir_np(&actions, source_dir().c_str());
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + argv_s[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  Run run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = read_file(out_path);
  run.err = read_file(err_path);
  return run;
}

}  // namespace

Run run_crible(const std::vector<std::string>& args, const std::string& stdin_text) {
  std::vector<std::string> argv_s{crible_bin().string()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  return run_program(argv_s, stdin_text);
}

Run run_crible_limited(const std::vector<std::string>& args, const Limits& limits) {
  std::vector<std::string> argv_s{"/usr/bin/prlimit"};
  if (limits.address_space != 0) argv_s.push_back("--as=" + std::to_string(limits.address_space));
  if (limits.stack != 0) argv_s.push_back("--stack=" + std::to_string(limits.stack));
  argv_s.push_back("--");
  argv_s.push_back(crible_bin().string());
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  return run_program(argv_s, {});
}

std::string first_difference(const fs::path& golden, const std::string& expected,
                             const std::string& actual) {
  if (expected == actual) return {};
  size_t line = 1, i = 0;
  while (i < expected.size() && i < actual.size() && expected[i] == actual[i]) {
    if (expected[i] == '\n') ++line;
    ++i;
  }
  auto line_at = [](const std::string& s, size_t pos) {
    size_t b = pos == 0 ? 0 : s.rfind('\n', pos - 1);
    b = (b == std::string::npos || pos == 0) ? 0 : b + 1;
    size_t e = s.find('\n', pos);
    return s.substr(b, e == std::string::npos ? std::string::npos : e - b);
  };
  return golden.string() + ": first difference at line " + std::to_string(line) +
         "\n  expected: " + line_at(expected, i) + "\n  actual:   " + line_at(actual, i);
}

std::string compare_golden(const fs::path& golden, const std::string& actual) {
  const char* bless = std::getenv("CRIBLE_BLESS");
  if (bless && std::string(bless) == "1") {
    write_file(golden, actual);
    return {};
  }
  if (!fs::exists(golden)) return "missing golden file " + golden.string() + " (run with CRIBLE_BLESS=1)";
  return first_difference(golden, read_file(golden), actual);
}

}  // namespace crible::testing
