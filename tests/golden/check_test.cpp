// tests/golden/check_test.cpp: `crible check` on broken rule files, compared byte for byte with
// the expected output beside each one ("exit: N" + stderr). `CRIBLE_BLESS=1 ctest -R golden`
// rewrites the expected files instead; review the diff like code.
//
// - diagnostics/NAME.rules: one mistake (or a few) per file, committed.
// - diagnostics_json/NAME.expected: the same files with `--format json` (JSON goes to stdout).
// - hostile/NAME.expected: inputs too large or too strange to commit, written by this test into
//   a temporary directory; its path is replaced by `<tmp>` before comparing.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "support/run_crible.h"

namespace fs = std::filesystem;
namespace ct = crible::testing;

namespace {

const fs::path kGolden = "tests/golden";

std::vector<std::string> inputs(const std::string& dir) {
  std::vector<std::string> out;
  const fs::path root = ct::source_dir() / kGolden / dir;
  if (!fs::is_directory(root)) return out;
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.path().extension() == ".rules")
      out.push_back((kGolden / dir / entry.path().filename()).string());
  std::sort(out.begin(), out.end());
  return out;
}

fs::path expected_path(const std::string& input) {
  return ct::source_dir() / fs::path(input).replace_extension(".expected");
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(check_golden)

BOOST_AUTO_TEST_CASE(diagnostics_match_expected_files) {
  const auto files = inputs("diagnostics");
  BOOST_TEST(files.size() >= 35u, "only " << files.size() << " broken rule files");
  for (const auto& input : files) {
    BOOST_TEST_CONTEXT("crible check " << input) {
      const ct::Run run = ct::run_crible({"check", input});
      BOOST_TEST(run.out.empty());  // diagnostics go to stderr
      BOOST_TEST(ct::compare_golden(expected_path(input), run.summary()) == "");
      // Every file is broken, or at least warned about: a file that checks silently proves
      // nothing.
      BOOST_TEST(!run.err.empty());
    }
  }
}

// Every expected file has its input: a renamed or deleted input leaves no stale golden file.
BOOST_AUTO_TEST_CASE(no_orphan_expected_files) {
  for (const std::string dir : {"diagnostics"}) {
    for (const auto& entry : fs::directory_iterator(ct::source_dir() / kGolden / dir)) {
      if (entry.path().extension() != ".expected") continue;
      fs::path input = entry.path();
      input.replace_extension(".rules");
      BOOST_TEST(fs::exists(input), entry.path() << " has no input " << input);
    }
  }
}

BOOST_AUTO_TEST_CASE(json_format_matches_expected_files) {
  for (const std::string name : {"duplicate_column", "syntax_missing_end", "reason_bad_field",
                                 "lint_criterion_clauses"}) {
    const std::string input = (kGolden / "diagnostics" / (name + ".rules")).string();
    BOOST_TEST_CONTEXT("crible check --format json " << input) {
      const ct::Run run = ct::run_crible({"check", "--format", "json", input});
      BOOST_TEST(run.err.empty());  // everything is in the JSON objects
      const std::string summary = "exit: " + std::to_string(run.exit_code) + "\n" + run.out;
      BOOST_TEST(ct::compare_golden(ct::source_dir() / kGolden / "diagnostics_json" / (name + ".expected"),
                                    summary) == "");
    }
  }
}

// `--werror`: the same diagnostics, warnings counted as errors, exit code 1; without it the
// same file exits 0.
BOOST_AUTO_TEST_CASE(werror_turns_warnings_into_errors) {
  for (const std::string name : {"lint_disposition_unreachable", "lint_unused"}) {
    const std::string input = (kGolden / "diagnostics" / (name + ".rules")).string();
    BOOST_TEST_CONTEXT("crible check --werror " << input) {
      BOOST_TEST(ct::run_crible({"check", input}).exit_code == 0);
      const ct::Run run = ct::run_crible({"check", "--werror", input});
      BOOST_TEST(run.exit_code == 1);
      BOOST_TEST(run.err.find("warning:") == std::string::npos);
      BOOST_TEST(ct::compare_golden(ct::source_dir() / kGolden / "diagnostics_werror" / (name + ".expected"),
                                    run.summary()) == "");
    }
  }
}

// One run reports every error of a file, in source order, in both formats.
BOOST_AUTO_TEST_CASE(all_errors_are_reported_in_one_pass) {
  const std::string input = (kGolden / "diagnostics" / "multi_error.rules").string();
  const ct::Run text = ct::run_crible({"check", input});
  BOOST_TEST(text.exit_code == 1);
  size_t errors = 0, last_line = 0;
  bool in_order = true;
  for (size_t at = text.err.find(input + ":"); at != std::string::npos;
       at = text.err.find(input + ":", at + 1)) {
    const size_t line_start = at + input.size() + 1;
    if (text.err.compare(text.err.find(' ', line_start) + 1, 6, "error:") != 0) continue;
    const size_t line = std::stoul(text.err.substr(line_start));
    in_order = in_order && line >= last_line;
    last_line = line;
    ++errors;
  }
  BOOST_TEST(errors == 8u);
  BOOST_TEST(in_order);
  BOOST_TEST(text.err.find(": 8 errors\n") != std::string::npos);
  const ct::Run json = ct::run_crible({"check", "--format", "json", input});
  BOOST_TEST(std::count(json.out.begin(), json.out.end(), '\n') == 8);
}

BOOST_AUTO_TEST_CASE(shipped_rulesets_check_clean) {
  std::vector<std::string> rulesets;
  for (const auto& entry : fs::directory_iterator(ct::source_dir() / "rules"))
    if (entry.path().extension() == ".rules")
      rulesets.push_back("rules/" + entry.path().filename().string());
  BOOST_TEST(std::count(rulesets.begin(), rulesets.end(), "rules/mali-2019.rules") == 1);
  for (const auto& rules : rulesets) {
    BOOST_TEST_CONTEXT("crible check " << rules) {
      const ct::Run run = ct::run_crible({"check", rules});
      BOOST_TEST(run.exit_code == 0);
      BOOST_TEST(run.err == "");
      BOOST_TEST(run.out == "");
      // Not a single lint either: the shipped rules are the example authors copy.
      BOOST_TEST(ct::run_crible({"check", "--werror", rules}).exit_code == 0);
    }
  }
}

// --- hostile inputs ----------------------------------------------------------------------

namespace {

const std::string kHead = "cases\n  case_id: text, key\n  a: bool, required\nend\n\n";
const std::string kTail = "\n\ndisposition\n  APPROVE otherwise\nend\n";

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string joined(const std::string& item, const std::string& sep, size_t n) {
  return item + repeat(sep + item, n - 1);
}

struct Hostile {
  std::string name;
  std::function<std::string()> text;
};

const std::vector<Hostile>& hostile_inputs() {
  static const std::vector<Hostile> kInputs = {
      {"deep_parens", [] { return kHead + "define x = " + repeat("(", 10000) + "a" + repeat(")", 10000) + kTail; }},
      {"deep_braces", [] { return kHead + "define x = " + repeat("{", 10000) + repeat("}", 10000) + kTail; }},
      {"not_chain", [] { return kHead + "define x = " + repeat("not ", 10000) + "a" + kTail; }},
      {"minus_chain", [] { return kHead + "define x = " + repeat("-", 10000) + "1" + kTail; }},
      {"or_chain", [] { return kHead + "define x = " + joined("a", " or ", 100000) + kTail; }},
      {"and_chain_over_lines", [] { return kHead + "define x = " + joined("a", "\n  and ", 100000) + kTail; }},
      {"plus_chain", [] { return kHead + "define x = " + joined("1", " + ", 100000) + " > 0" + kTail; }},
      {"file_50mb", [] {
         // Well-formed text: only the size is wrong.
         return kHead + repeat("# " + std::string(77, 'x') + "\n", 50u * 1024 * 1024 / 80) + kTail;
       }},
      {"invalid_utf8", [] {
         // "déclaration" saved as Latin-1: é is the single byte 0xE9.
         return kHead + "criterion E1 CONSENT \"d\xE9" "claration sign\xE9" "e\"\n  pass when a\nend" + kTail;
       }},
      {"utf8_cut_short", [] { return kHead + "define x = \"caf\xC3"; }},
      {"nul_bytes", [] { return kHead + "define x = a" + std::string(3, '\0') + kTail; }},
      {"garbage_characters", [] { return kHead + repeat("@ $ % ^ ~ ` ? \\ | ;\n", 20000) + kTail; }},
      {"garbage_tokens", [] { return kHead + repeat("end\n", 100000) + kTail; }},
      {"long_line", [] { return kHead + "define x = " + joined("a", " and ", 300) + " and nope and a" + kTail; }},
      {"unterminated_at_eof", [] { return kHead + "define x = \"no closing quote"; }},
  };
  return kInputs;
}

}  // namespace

BOOST_AUTO_TEST_CASE(hostile_inputs_get_a_clear_error_quickly) {
  const fs::path dir = ct::temp_dir("hostile");
  for (const auto& h : hostile_inputs()) {
    BOOST_TEST_CONTEXT("hostile input " << h.name) {
      const fs::path input = dir / (h.name + ".rules");
      ct::write_file(input, h.text());
      const auto started = std::chrono::steady_clock::now();
      const ct::Run run = ct::run_crible({"check", input.string()});
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      // A few seconds even on a slow machine or under the sanitizers; well under one normally.
      BOOST_TEST(seconds < 10.0, h.name << " took " << seconds << " s");
      BOOST_TEST(run.exit_code == 1);  // an error, not a crash (which would be 128 + signal)
      std::string summary = run.summary();
      replace_all(summary, dir.string() + "/", "<tmp>/");
      BOOST_TEST(ct::compare_golden(ct::source_dir() / kGolden / "hostile" / (h.name + ".expected"),
                                    summary) == "");
    }
  }
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()
