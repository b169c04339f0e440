// Shared by the commands: compile a rule file (parse + check) and print its diagnostics;
// load the cases and tables a ruleset declares; exit codes.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/intern.h"
#include "base/source.h"
#include "check/typed_ruleset.h"
#include "data/data.h"
#include "eval/eval.h"
#include "plan/plan.h"

namespace crible::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuleErrors = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitData = crible::kExitDataError;
inline constexpr int kExitTampered = 4;
inline constexpr int kExitOutOfMemory = crible::kExitOutOfMemory;

enum class DiagFormat { Text, Json };

struct Compiled {
  SourceSet sources;
  uint32_t file = 0;
  check::TypedRuleset rules;
  size_t warnings = 0;
};

// Reads, parses and checks `path`; prints diagnostics to stderr (or stdout for JSON).
// Returns nullopt when the file has errors (or cannot be read: the message says so).
std::optional<Compiled> compile(const std::string& path, DiagFormat format, bool werror,
                                int& exit_code);

struct TableArg {
  std::string name, path;
};
// Parses NAME=VALUE; false on a malformed argument.
bool split_assignment(const std::string& arg, std::pair<std::string, std::string>& out);

// Everything a run needs, loaded and indexed.
struct Loaded {
  Interner interner;
  plan::Plan plan;
  data::Table cases;
  std::vector<data::Table> tables;
  std::unique_ptr<eval::Evaluator> evaluator;
  std::string cases_path;
  std::vector<TableArg> table_paths;  // in declaration order
};

struct LoadRequest {
  std::string cases_path;
  std::vector<std::string> table_args;   // NAME=PATH
  std::vector<std::string> param_args;   // NAME=VALUE
  int threads = 0;
};

// Loads and indexes; on failure prints the error and sets exit_code (2 usage, 3 data).
std::unique_ptr<Loaded> load(const Compiled& compiled, const LoadRequest& request, int& exit_code);

// "cases.csv:12: column birth_date: bad date ..." lines and the file,line,column,reason CSV.
void report_rejects(const Loaded& loaded, const std::string& rejects_path, int& exit_code);

std::string read_whole_file(const std::string& path, bool& ok, std::string& error);

}  // namespace crible::cli
