// Small hand-written rulesets (tests/data/small) for behaviour the reference ruleset does
// not exercise: each test names the defect it guards against.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/run_crible.h"

namespace ct = crible::testing;

BOOST_AUTO_TEST_SUITE(small_rules)

// A reason placeholder naming a parameter or a constant used to render as `?`, because only
// fields, definitions and lets were recorded as evidence.
BOOST_AUTO_TEST_CASE(reason_shows_parameters_and_constants) {
  const ct::Run run = ct::run_crible({"eval", "tests/data/small/reason-params.rules", "--cases",
                                      "tests/data/small/reason-params.csv", "--format", "jsonl"});
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.err);
  BOOST_TEST(run.out.find("household of 6 is over the limit of 4") != std::string::npos, run.out);
  BOOST_TEST(run.out.find("MLI is one of") != std::string::npos, run.out);
  BOOST_TEST(run.out.find("?") == std::string::npos, run.out);
  // --param reaches the reason too.
  const ct::Run five = ct::run_crible({"eval", "tests/data/small/reason-params.rules", "--cases",
                                       "tests/data/small/reason-params.csv", "--format", "jsonl",
                                       "--param", "limit=5"});
  BOOST_TEST_REQUIRE(five.exit_code == 0, five.err);
  BOOST_TEST(five.out.find("household of 6 is over the limit of 5") != std::string::npos, five.out);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(run_summary)

// `crible eval` of the reference rules over one of the hand-made sets in tests/data/eval.
ct::Run eval_set(const std::string& name) {
  const std::string set = "tests/data/eval/" + name + "/";
  return ct::run_crible({"eval", "rules/mali-2019.rules", "--cases", set + "cases.csv", "--table",
                         "flows=" + set + "flows.csv", "--table", "languages=" + set + "languages.csv",
                         "--out", "/dev/null"});
}

// The summary used to count only rejected case rows, so table rows that the aggregates never
// saw went unmentioned once the reject list scrolled by.
BOOST_AUTO_TEST_CASE(rejected_table_rows_are_counted_per_table) {
  const ct::Run run = eval_set("rejects");
  BOOST_TEST(run.exit_code == 0, run.err);
  BOOST_TEST(run.err.find("table flows: read 4, loaded 1, rejected 3\n") != std::string::npos, run.err);
  BOOST_TEST(run.err.find("table languages: read 2, loaded 1, rejected 1\n") != std::string::npos, run.err);
}

// A table without rejects adds no line: the usual summary stays as it was.
BOOST_AUTO_TEST_CASE(clean_tables_add_no_line) {
  const ct::Run run = eval_set("criteria");
  BOOST_TEST(run.exit_code == 0, run.err);
  BOOST_TEST(run.err.find("table ") == std::string::npos, run.err);
}

// --summary-json writes the summary even with --quiet (which only silences stderr); with
// --quiet alone, nothing is printed.
BOOST_AUTO_TEST_CASE(summary_json_is_written_under_quiet) {
  const std::string set = "tests/data/eval/criteria/";
  const std::string json = (ct::temp_dir("summary") / "summary.json").string();
  const std::vector<std::string> base = {"eval", "rules/mali-2019.rules", "--cases", set + "cases.csv",
                                         "--table", "flows=" + set + "flows.csv", "--table",
                                         "languages=" + set + "languages.csv", "--out", "/dev/null",
                                         "--quiet"};
  const ct::Run quiet = ct::run_crible(base);
  BOOST_TEST(quiet.exit_code == 0, quiet.err);
  BOOST_TEST(quiet.err.empty(), quiet.err);
  std::vector<std::string> with_json = base;
  with_json.push_back("--summary-json");
  with_json.push_back(json);
  const ct::Run run = ct::run_crible(with_json);
  BOOST_TEST(run.exit_code == 0, run.err);
  BOOST_TEST(run.err.empty(), run.err);
  std::ifstream in(json);
  BOOST_REQUIRE_MESSAGE(in, "no summary written to " << json);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* part : {"\"read\":", "\"decided\":", "\"dispositions\":{", "\"criteria\":{",
                           "\"signals\":{", "\"seconds\":"})
    BOOST_TEST(text.find(part) != std::string::npos, "no " << part << " in " << text);
}

// The summary's counts agree with the decisions written: a criterion counted as failed or
// unknown, or a signal counted as fired, is listed in the `fired` column of that many rows.
BOOST_AUTO_TEST_CASE(summary_counts_agree_with_the_decisions) {
  const std::string set = "rules/sample/";
  const auto dir = ct::temp_dir("summary-counts");
  const std::string csv = (dir / "decisions.csv").string(), json = (dir / "summary.json").string();
  const ct::Run run = ct::run_crible({"eval", "rules/mali-2019.rules", "--cases", set + "cases.csv",
                                      "--table", "flows=" + set + "flows.csv", "--table",
                                      "languages=" + set + "languages.csv", "--out", csv,
                                      "--summary-json", json, "--quiet"});
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  std::ifstream in(json);
  const auto summary = nlohmann::json::parse(in, nullptr, false);
  BOOST_REQUIRE(summary.is_object());
  std::map<std::string, size_t> listed;  // rule id -> rows listing it
  std::ifstream rows(csv);
  std::string line;
  std::getline(rows, line);  // header
  size_t n = 0;
  while (std::getline(rows, line)) {
    ++n;
    std::string fired = line.substr(line.rfind(',') + 1);
    for (size_t at = 0; at <= fired.size();) {
      const size_t end = std::min(fired.find(';', at), fired.size());
      if (end > at) ++listed[fired.substr(at, end - at)];
      at = end + 1;
    }
  }
  BOOST_TEST(n == 1500u);
  size_t checked = 0;
  for (const auto& [id, counts] : summary.at("criteria").items()) {
    BOOST_TEST(counts.at("fail").get<size_t>() + counts.at("unknown").get<size_t>() == listed[id], id);
    ++checked;
  }
  for (const auto& [id, fired] : summary.at("signals").items()) {
    BOOST_TEST(fired.get<size_t>() == listed[id], id);
    ++checked;
  }
  BOOST_TEST(checked == 15u);
}

BOOST_AUTO_TEST_SUITE_END()

// The progress line (phase, cases, cases/s, ETA) is drawn only on a terminal: stderr is given
// a pseudo-terminal here, and a plain pipe in every other test.
BOOST_AUTO_TEST_SUITE(progress_line)

namespace {

// Runs crible with stderr on a pseudo-terminal; returns what the terminal showed, or nothing
// when this machine gives no pseudo-terminal (some containers).
std::optional<std::string> run_on_terminal(const std::vector<std::string>& args) {
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 || !ptsname(master)) {
    if (master >= 0) close(master);
    return std::nullopt;
  }
  const std::string slave_name = ptsname(master);
  const pid_t pid = fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    setsid();
    const int slave = open(slave_name.c_str(), O_RDWR);
    const int devnull = open("/dev/null", O_RDWR);
    if (slave < 0 || devnull < 0 || chdir(ct::source_dir().c_str()) != 0) _exit(127);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(slave, 2);
    std::vector<std::string> argv_s{ct::crible_bin().string()};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  std::string shown;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the child has gone
    shown.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0, shown);
  return shown;
}

}  // namespace

BOOST_AUTO_TEST_CASE(review_shows_its_progress_on_a_terminal_only) {
  const std::string store = (ct::temp_dir("progress") / "audit.sqlite").string();
  const std::vector<std::string> args = {
      "review", "rules/mali-2019.rules", "--cases", "rules/sample/cases.csv", "--table",
      "flows=rules/sample/flows.csv", "--table", "languages=rules/sample/languages.csv",
      "--audit", store, "--out", "/dev/null"};
  const std::optional<std::string> on_terminal = run_on_terminal(args);
  if (on_terminal) {
    const std::string& shown = *on_terminal;
    BOOST_TEST(shown.find("loading...") != std::string::npos, shown);
    BOOST_TEST(shown.find("recording 1500/1500 (100%)") != std::string::npos, shown);
    BOOST_TEST(shown.find("read 1500, decided 1500, rejected 0") != std::string::npos, shown);
  } else {
    BOOST_TEST_MESSAGE("no pseudo-terminal here: only the non-terminal half is tested");
  }
  // Not a terminal: no progress, no control characters.
  std::vector<std::string> again = args;
  again[9] = (ct::temp_dir("progress-pipe") / "audit.sqlite").string();
  const ct::Run piped = ct::run_crible(again);
  BOOST_TEST(piped.exit_code == 0, piped.err);
  BOOST_TEST(piped.err.find('\r') == std::string::npos, piped.err);
  BOOST_TEST(piped.err.find("recording") == std::string::npos, piped.err);
  // --quiet on a terminal: nothing at all.
  std::vector<std::string> quiet = args;
  quiet[9] = (ct::temp_dir("progress-quiet") / "audit.sqlite").string();
  quiet.push_back("--quiet");
  if (on_terminal) BOOST_TEST(run_on_terminal(quiet).value_or("?").empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(out_files)

// `eval --out` (and `review --out`, `diff --out`) used to open FILE for writing at once, so a
// run that failed while writing (a full disk) left a truncated decisions file where the
// previous one had been, for a later step to take as the decisions. A file size limit plays
// the full disk: RLIMIT_FSIZE is inherited by the child, and with SIGXFSZ ignored (also
// inherited) a write past it fails with EFBIG instead of ending the process.
ct::Run run_with_file_size_limit(const std::vector<std::string>& args, rlim_t bytes) {
  struct rlimit before {};
  BOOST_REQUIRE(getrlimit(RLIMIT_FSIZE, &before) == 0);
  struct rlimit limited = before;
  limited.rlim_cur = bytes;
  const auto previous_handler = signal(SIGXFSZ, SIG_IGN);
  BOOST_REQUIRE(setrlimit(RLIMIT_FSIZE, &limited) == 0);
  const ct::Run run = ct::run_crible(args);
  setrlimit(RLIMIT_FSIZE, &before);
  signal(SIGXFSZ, previous_handler);
  return run;
}

BOOST_AUTO_TEST_CASE(a_failed_write_leaves_the_previous_out_file) {
  const std::filesystem::path dir = ct::temp_dir("out-whole");
  const std::filesystem::path out = dir / "decisions.csv";
  const std::vector<std::string> eval = {
      "eval",    "rules/mali-2019.rules",           "--cases", "rules/sample/cases.csv",
      "--table", "flows=rules/sample/flows.csv",    "--table", "languages=rules/sample/languages.csv",
      "--quiet", "--out",                           out.string()};
  const std::vector<std::string> diff = {"diff",
                                         "rules/mali-2019.rules",
                                         "tests/data/diff/mali-2019-stricter.rules",
                                         "--cases",
                                         "rules/sample/cases.csv",
                                         "--table",
                                         "flows=rules/sample/flows.csv",
                                         "--table",
                                         "languages=rules/sample/languages.csv",
                                         "--format",
                                         "json",
                                         "--out",
                                         out.string()};
  // The sample's 1,500 decisions are some 45 kB, the diff's JSON some 4.7 kB: each write
  // stops part way.
  for (const auto& [args, limit] : {std::pair{&eval, 16384}, std::pair{&diff, 2048}}) {
    BOOST_TEST_CONTEXT((*args)[0]) {
      ct::write_file(out, "previous decisions\n");
      const ct::Run failed = run_with_file_size_limit(*args, limit);
      BOOST_TEST(failed.exit_code == 3, failed.err);
      BOOST_TEST(failed.err.find("could not write all of " + out.string()) != std::string::npos,
                 failed.err);
      BOOST_TEST(ct::read_file(out) == "previous decisions\n");
      size_t files = 0;
      for ([[maybe_unused]] const auto& f : std::filesystem::directory_iterator(dir)) ++files;
      BOOST_TEST(files == 1u);  // no temporary left behind
    }
  }
  // A directory where no file can be created: the temporary is named, not only FILE.
  const ct::Run nowhere = ct::run_crible({"eval", "rules/mali-2019.rules", "--cases",
                                          "rules/sample/cases.csv", "--table",
                                          "flows=rules/sample/flows.csv", "--table",
                                          "languages=rules/sample/languages.csv", "--quiet",
                                          "--out", (dir / "missing" / "d.csv").string()});
  BOOST_TEST(nowhere.exit_code == 3);
  BOOST_TEST(nowhere.err.find("cannot create the temporary file it is written to first") !=
                 std::string::npos,
             nowhere.err);
  // Without the limit the same run replaces the file with the whole decisions.
  const ct::Run whole = ct::run_crible(eval);
  BOOST_TEST(whole.exit_code == 0, whole.err);
  BOOST_TEST(ct::read_file(out).size() > 16384u);
  BOOST_TEST(ct::read_file(out).starts_with("case_id,disposition"));
}

// A file replaced through --out keeps its owner, group and mode, as when it was written in
// place: root re-running a review over a caseworker's decisions file used to take it over.
// Only root can give a file away, so without root this checks the mode alone.
BOOST_AUTO_TEST_CASE(a_replaced_out_file_keeps_its_owner_and_mode) {
  const std::filesystem::path dir = ct::temp_dir("out-owner");
  const std::filesystem::path out = dir / "decisions.csv";
  ct::write_file(out, "previous decisions\n");
  const bool root = geteuid() == 0;
  if (root) BOOST_REQUIRE(chown(out.c_str(), 12345, 23456) == 0);
  BOOST_REQUIRE(chmod(out.c_str(), 0640) == 0);
  const ct::Run run = ct::run_crible(
      {"eval", "rules/mali-2019.rules", "--cases", "rules/sample/cases.csv", "--table",
       "flows=rules/sample/flows.csv", "--table", "languages=rules/sample/languages.csv",
       "--quiet", "--out", out.string()});
  BOOST_TEST(run.exit_code == 0, run.err);
  BOOST_TEST(ct::read_file(out).starts_with("case_id,disposition"));
  struct stat st {};
  BOOST_REQUIRE(stat(out.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0640u);
  if (root) {
    BOOST_TEST(st.st_uid == 12345u);
    BOOST_TEST(st.st_gid == 23456u);
  } else {
    BOOST_TEST_MESSAGE("not root: the owner cannot be given away, only the mode is checked");
  }
}

// A process ended by a signal while writing its --out used to leave FILE.tmp-XXXXXX behind.
// The file size limit with SIGXFSZ at its default plays the interruption deterministically:
// the write past the limit raises the signal, as Ctrl-C or `kill` would at that moment.
BOOST_AUTO_TEST_CASE(an_interrupted_write_leaves_no_temporary) {
  const std::filesystem::path dir = ct::temp_dir("out-interrupted");
  const std::filesystem::path out = dir / "decisions.csv";
  ct::write_file(out, "previous decisions\n");
  struct rlimit before {};
  BOOST_REQUIRE(getrlimit(RLIMIT_FSIZE, &before) == 0);
  struct rlimit limited = before;
  limited.rlim_cur = 16384;
  const auto previous_handler = signal(SIGXFSZ, SIG_DFL);
  BOOST_REQUIRE(setrlimit(RLIMIT_FSIZE, &limited) == 0);
  const ct::Run run = ct::run_crible(
      {"eval", "rules/mali-2019.rules", "--cases", "rules/sample/cases.csv", "--table",
       "flows=rules/sample/flows.csv", "--table", "languages=rules/sample/languages.csv",
       "--quiet", "--out", out.string()});
  setrlimit(RLIMIT_FSIZE, &before);
  signal(SIGXFSZ, previous_handler);
  BOOST_TEST(run.exit_code == 128 + SIGXFSZ, run.err);  // ended by the signal, as it says
  BOOST_TEST(ct::read_file(out) == "previous decisions\n");
  std::vector<std::string> files;
  for (const auto& f : std::filesystem::directory_iterator(dir))
    files.push_back(f.path().filename().string());
  BOOST_TEST(files == std::vector<std::string>{"decisions.csv"});
}

BOOST_AUTO_TEST_SUITE_END()
