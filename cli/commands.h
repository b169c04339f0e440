// The subcommands' options and their implementations.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace crible::cli {

struct CheckOptions {
  std::vector<std::string> rules;
  std::string format = "text";
  bool verbose = false;
  bool werror = false;
};

struct EvalOptions {
  std::string rules;
  std::string cases;
  std::vector<std::string> tables, params;
  std::string out = "-";
  std::string format = "csv";
  std::string rejects;
  std::string summary_json;
  int threads = 0;
  bool quiet = false;
  // review only
  std::string audit;
  std::string pseudonymise_key;
};

struct ExplainOptions {
  std::string audit;
  std::string case_id;
  std::optional<int64_t> run;
  std::string format = "text";
};

struct AuditOptions {
  std::string store;
  std::string case_id;
  std::optional<int64_t> run;
  std::string out = "-";
  std::string disposition, by, reason;
};

struct Commands {
  std::vector<std::pair<CLI::App*, std::function<int()>>> authoring;  // test, diff, fmt
  CLI::App* check = nullptr;
  CLI::App* eval = nullptr;
  CLI::App* review = nullptr;
  CLI::App* explain = nullptr;
  CLI::App* audit = nullptr;
  CLI::App* audit_verify = nullptr;
  CLI::App* audit_runs = nullptr;
  CLI::App* audit_export = nullptr;
  CLI::App* audit_override = nullptr;
  CLI::App* audit_erase = nullptr;
  CheckOptions check_opts;
  EvalOptions eval_opts, review_opts;
  ExplainOptions explain_opts;
  AuditOptions audit_opts;
};

void register_commands(CLI::App& app, Commands& c);
int run_selected(CLI::App& app, Commands& c);

int run_check(const CheckOptions& o);
int run_eval(const EvalOptions& o, bool review);
int run_explain(const ExplainOptions& o);
int run_audit_verify(const AuditOptions& o);
int run_audit_runs(const AuditOptions& o);
int run_audit_export(const AuditOptions& o);
int run_audit_override(const AuditOptions& o);
int run_audit_erase(const AuditOptions& o);

}  // namespace crible::cli
