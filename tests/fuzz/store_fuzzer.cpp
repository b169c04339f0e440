// libFuzzer harness for the commands that read an audit store: the input is a list of edits
// that someone with the plain sqlite3 shell could make to a real store (triggers dropped),
// applied to a copy of it; then `crible audit verify`, `audit runs`, `audit export`,
// `explain` (text and JSON) of every case, `audit override` and `audit erase` run on the
// copy, through the same functions as the `crible` command. Each must end with an exit code
// (0, 3 for damaged data, 4 for tampering found by verify), never a crash, a hang or an
// uncaught exception; an explain or export that fails prints nothing.
// Built by build.sh only.
//
// The store (built once, at start): rules/mali-2019.rules reviewed on 12 cases of
// rules/sample (run 1), again with another review date (run 2), two overrides, an erasure
// and an incomplete run 3 of 4 decisions. Two copies are kept in memory: one with the
// triggers dropped (the tables still STRICT: a column keeps its type) and one also rewritten
// without STRICT and NOT NULL (any column takes any value: integer, real, text, blob, NULL),
// as `PRAGMA writable_schema` allows.
//
// Input: byte 0 picks the copy (bit 0), whether a case is then overridden and erased (bit 1)
// and which case is explained, overridden and erased (the rest); then edits, one after
// another, each an op byte and its operands:
//   op % 8 = 0..2  set a cell:      COLUMN ROW VALUE
//            3     splice a text:   COLUMN ROW OFFSET(2 bytes) DELETE(1) TEXT
//            4     delete a row:    TABLE ROW
//            5     duplicate a row: TABLE ROW VALUE (the copy's seq, or rowid for meta)
//            6     copy a cell:     COLUMN ROW COLUMN ROW (into the first from the second)
//            7     a statement from kStatements: INDEX
// COLUMN indexes kColumns, TABLE kTables, ROW the table's rows in rowid order (modulo their
// number). VALUE is a type byte, then: NULL | an integer (a listed one, or 8 bytes) | a
// double (listed, or 8 bytes) | a text or blob (a length byte, then the bytes) | a small
// signed integer (1 byte). TEXT is a length byte and the bytes. Edits that SQLite refuses
// (a STRICT type, a UNIQUE index) are skipped.
//
// Environment: CRIBLE_FUZZ_VERBOSE=1 shows the commands' output and each edit (to replay a
// crash); CRIBLE_FUZZ_KEEP=PATH writes the edited store there (for the real `crible`).
#include <sqlite3.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "cli/commands.h"

namespace fs = std::filesystem;
using crible::cli::AuditOptions;
using crible::cli::EvalOptions;
using crible::cli::ExplainOptions;

namespace {

// ---- where the copies live ----

std::string g_dir;         // /dev/shm/crible-store-fuzz-PID
std::string g_store;       // the copy each input edits
std::string g_export;      // audit export's --out
std::string g_images[2];   // the two base stores, as bytes
bool g_verbose = false;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "store_fuzzer: %s\n", why.c_str());
  std::abort();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) die("cannot write " + path);
}

void remove_store(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((path + suffix).c_str());
}

void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "";
    sqlite3_free(err);
    die(sql + ": " + msg);
  }
}

std::vector<std::string> column_texts(sqlite3* db, const std::string& sql) {
  std::vector<std::string> out;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) return out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    out.emplace_back(p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st, 0))) : "");
  }
  sqlite3_finalize(st);
  return out;
}

// ---- running the commands quietly ----

// Swaps std::cout and std::cerr for string buffers while a command runs; verbose, prints
// them afterwards with the time the command took.
struct Captured {
  std::ostringstream out, err;
  std::streambuf* old_out;
  std::streambuf* old_err;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  Captured() : old_out(std::cout.rdbuf(out.rdbuf())), old_err(std::cerr.rdbuf(err.rdbuf())) {}
  ~Captured() {
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    if (g_verbose) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - started);
      std::fprintf(stderr, "%s%s  (%.1f ms)\n", out.str().c_str(), err.str().c_str(),
                   static_cast<double>(us.count()) / 1000);
    }
  }
};

void expect_code(const char* what, int code, std::initializer_list<int> allowed) {
  for (int a : allowed)
    if (code == a) return;
  die(std::string(what) + " exited with " + std::to_string(code));
}

// A command run in-process with its standard output and error captured (shown only with
// verbose): its exit code and what it printed.
struct Printed {
  int code;
  std::string out;
};
template <class Command>
Printed run_printing(Command&& command) {
  Captured c;
  const int code = command();
  return {code, c.out.str()};
}

int explain(const std::string& case_key, std::optional<int64_t> run, const char* format) {
  ExplainOptions o;
  o.audit = g_store;
  o.case_id = case_key;
  o.run = run;
  o.format = format;
  const Printed p = run_printing([&] { return crible::cli::run_explain(o); });
  const int code = p.code;
  const std::string& printed = p.out;
  if (g_verbose) std::fprintf(stderr, "  explain %s (%s) -> %d\n", case_key.c_str(), format, code);
  expect_code("explain", code, {0, 3});
  if (code != 0 && !printed.empty()) die("explain failed but printed an explanation");
  if (code == 0 && printed.empty()) die("explain succeeded but printed nothing");
  return code;
}

// The number of fields of each record of a CSV (RFC 4180 quoting); empty if a quote is
// left open.
std::vector<size_t> csv_shape(const std::string& csv) {
  std::vector<size_t> out;
  size_t fields = 1;
  bool quoted = false;
  for (size_t i = 0; i < csv.size(); ++i) {
    const char c = csv[i];
    if (quoted) {
      if (c == '"' && i + 1 < csv.size() && csv[i + 1] == '"') ++i;
      else if (c == '"') quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      ++fields;
    } else if (c == '\n') {
      out.push_back(fields);
      fields = 1;
    }
  }
  if (quoted) return {};
  return out;
}

int export_run(std::optional<int64_t> run) {
  AuditOptions o;
  o.store = g_store;
  o.run = run;
  o.out = g_export;
  // --out replaces a previous file whole or not at all: one is there, with its own mode, and
  // a failed export leaves it as it was (and no temporary file beside it).
  static const std::string kPrevious = "previous export\n";
  write_file(g_export, kPrevious);
  ::chmod(g_export.c_str(), 0640);
  const int code = run_printing([&] { return crible::cli::run_audit_export(o); }).code;
  if (g_verbose) std::fprintf(stderr, "  export run %lld -> %d\n", run ? static_cast<long long>(*run) : 0LL, code);
  expect_code("audit export", code, {0, 3});
  for (const auto& entry : fs::directory_iterator(g_dir))
    if (entry.path().filename().string().rfind("export.csv.", 0) == 0)
      die("audit export left " + entry.path().string() + " behind");
  struct stat st;
  if (::stat(g_export.c_str(), &st) != 0) die("audit export removed the previous file");
  if ((st.st_mode & 07777) != 0640) die("audit export changed the mode of the file it wrote");
  const std::string written = read_file(g_export);
  if (code != 0 && written != kPrevious) die("audit export failed but replaced the previous file");
  if (code == 0 && (written.empty() || written == kPrevious))
    die("audit export succeeded but wrote no header");
  if (code == 0) {
    // A CSV with as many fields on every line as in its header, or an error.
    const std::vector<size_t> shape = csv_shape(written);
    if (shape.empty()) die("audit export wrote a CSV with an open quote");
    for (size_t n : shape)
      if (n != shape[0]) die("audit export wrote lines of different lengths");
  }
  return code;
}

int verify() {
  AuditOptions o;
  o.store = g_store;
  const int code = run_printing([&] { return crible::cli::run_audit_verify(o); }).code;
  if (g_verbose) std::fprintf(stderr, "  audit verify -> %d\n", code);
  expect_code("audit verify", code, {0, 3, 4});
  return code;
}

// audit runs lists every run or none: a run whose ruleset record is gone is listed, as
// (missing), with exit 3; any other damage is an error before the listing.
int list_runs() {
  AuditOptions o;
  o.store = g_store;
  const Printed p = run_printing([&] { return crible::cli::run_audit_runs(o); });
  const int code = p.code;
  const std::string& printed = p.out;
  if (g_verbose) std::fprintf(stderr, "  audit runs -> %d\n", code);
  expect_code("audit runs", code, {0, 3});
  const bool missing = printed.find(",(missing),") != std::string::npos;
  if (code == 0 && printed.rfind("run,status,", 0) != 0)
    die("audit runs succeeded without a whole listing");
  if (code != 0 && !printed.empty() && !missing)
    die("audit runs failed after listing runs, none of them with a missing ruleset");
  return code;
}

int override_case(const std::string& case_key, std::optional<int64_t> run) {
  AuditOptions o;
  o.store = g_store;
  o.case_id = case_key;
  o.run = run;
  o.disposition = "VERIFY";
  o.by = "fuzz";
  o.reason = "fuzzing";
  const int code = run_printing([&] { return crible::cli::run_audit_override(o); }).code;
  if (g_verbose) std::fprintf(stderr, "  override %s -> %d\n", case_key.c_str(), code);
  // 2: the (edited) ruleset of the decision has no disposition VERIFY.
  expect_code("audit override", code, {0, 2, 3});
  return code;
}

int erase_case(const std::string& case_key) {
  AuditOptions o;
  o.store = g_store;
  o.case_id = case_key;
  o.by = "fuzz";
  o.reason = "fuzzing";
  const int code = run_printing([&] { return crible::cli::run_audit_erase(o); }).code;
  if (g_verbose) std::fprintf(stderr, "  erase %s -> %d\n", case_key.c_str(), code);
  expect_code("audit erase", code, {0, 3});
  return code;
}

// ---- the base store ----

const char* const kCases[] = {
    // AVR0000756 and the cases its shared phone links, two with unknown criteria, a child.
    "AVR0000001", "AVR0000002", "AVR0000636", "AVR0000637", "AVR0000735", "AVR0000756",
    "AVR0000790", "AVR0000803", "AVR0001032", "AVR0000010", "AVR0000100", "AVR0000200"};

int review(const std::string& cases, const std::vector<std::string>& params) {
  EvalOptions o;
  o.rules = CRIBLE_FUZZ_SOURCE_DIR "/rules/mali-2019.rules";
  o.cases = cases;
  o.tables = {"flows=" CRIBLE_FUZZ_SOURCE_DIR "/rules/sample/flows.csv",
              "languages=" CRIBLE_FUZZ_SOURCE_DIR "/rules/sample/languages.csv"};
  o.params = params;
  o.out = "";
  o.threads = 1;
  o.quiet = true;
  o.audit = g_store;
  Captured c;
  return crible::cli::run_eval(o, /*review=*/true);
}

void build_base() {
  const std::string sample = read_file(CRIBLE_FUZZ_SOURCE_DIR "/rules/sample/cases.csv");
  if (sample.empty()) die("cannot read rules/sample/cases.csv");
  std::istringstream lines(sample);
  std::string line, cases;
  std::getline(lines, line);
  cases = line + "\n";
  while (std::getline(lines, line))
    for (const char* key : kCases)
      if (line.rfind(std::string(key) + ",", 0) == 0) cases += line + "\n";
  const std::string cases_path = g_dir + "/cases.csv";
  write_file(cases_path, cases);

  ::setenv("CRIBLE_NOW", "2026-11-23T10:00:00Z", 1);
  if (review(cases_path, {}) != 0) die("the first review failed");
  if (review(cases_path, {"as_of=2019-06-30"}) != 0) die("the second review failed");
  if (override_case("AVR0000756", std::nullopt) != 0) die("the override failed");
  if (override_case("AVR0000001", 1) != 0) die("the override of run 1 failed");
  if (erase_case("AVR0000002") != 0) die("the erasure failed");
  {
    // An incomplete run 3: four decisions of run 1 appended under another fingerprint.
    auto store = crible::audit::Store::open(g_store);
    if (!store) die(store.error().message);
    auto d = store->decision("AVR0000001", 1);
    auto layout = store->detail_layout(1);
    auto decisions = store->decisions(1);
    if (!d || !layout || !decisions) die("cannot read run 1 back");
    crible::audit::RunStart start;
    start.params = d->params;
    start.inputs = d->run.inputs;
    start.as_of = d->run.as_of;
    start.command = "crible review (fuzz: an incomplete run)";
    start.fingerprint = "incomplete";
    start.findings = d->decision.findings;
    start.detail_layout = *layout;
    auto run = store->begin_run(d->ruleset, start);
    if (!run) die(run.error().message);
    // (Not the erased one: a decision is appended with its detail.)
    std::vector<crible::audit::DecisionRecord> batch;
    for (const auto& r : *decisions)
      if (batch.size() < 4 && !r.detail_json.empty()) batch.push_back(r);
    for (auto& r : batch) r.detail_hash.clear();
    if (auto s = store->append_decisions(*run, batch); !s) die(s.error().message);
  }
  if (verify() != 0) die("the base store does not verify");

  // The two copies, each one self-contained file (no WAL) in rollback-journal mode.
  for (int variant = 0; variant < 2; ++variant) {
    const std::string path = g_dir + "/base" + std::to_string(variant) + ".sqlite";
    remove_store(path);
    fs::copy_file(g_store, path);
    if (fs::exists(g_store + "-wal")) fs::copy_file(g_store + "-wal", path + "-wal");
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) die("cannot open " + path);
    exec(db, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;");
    for (const std::string& t : column_texts(db, "SELECT name FROM sqlite_schema WHERE type = 'trigger'"))
      exec(db, "DROP TRIGGER \"" + t + "\"");
    if (variant == 1) {
      // As the sqlite3 shell allows: the tables without STRICT and NOT NULL, same pages.
      exec(db,
           "PRAGMA writable_schema = ON; "
           "UPDATE sqlite_schema SET sql = replace(replace(sql, ' NOT NULL', ''), ') STRICT', ')') "
           "WHERE type = 'table'; "
           "PRAGMA writable_schema = OFF;");
      const auto v = column_texts(db, "PRAGMA schema_version");
      exec(db, "PRAGMA writable_schema = ON; PRAGMA schema_version = " +
                   std::to_string(std::stoll(v.at(0)) + 1) + "; PRAGMA writable_schema = OFF;");
    }
    if (column_texts(db, "PRAGMA integrity_check") != std::vector<std::string>{"ok"})
      die("base copy " + std::to_string(variant) + " is not intact");
    sqlite3_close(db);
    g_images[variant] = read_file(path);
    remove_store(path);
  }
  remove_store(g_store);
}

// ---- the edits ----

struct Column {
  const char* table;
  const char* name;
};

const Column kColumns[] = {
    {"rulesets", "seq"}, {"rulesets", "id"}, {"rulesets", "path"}, {"rulesets", "source"},
    {"rulesets", "sha256"}, {"rulesets", "crible_version"}, {"rulesets", "stored_at"},
    {"rulesets", "hash"},
    {"runs", "seq"}, {"runs", "id"}, {"runs", "ruleset_id"}, {"runs", "params"},
    {"runs", "inputs"}, {"runs", "as_of"}, {"runs", "command"}, {"runs", "fingerprint"},
    {"runs", "started_at"}, {"runs", "findings"}, {"runs", "detail_layout"}, {"runs", "hash"},
    {"decisions", "seq"}, {"decisions", "run_id"}, {"decisions", "input_index"},
    {"decisions", "case_key"}, {"decisions", "disposition"}, {"decisions", "disposition_rule"},
    {"decisions", "scores"}, {"decisions", "fired"}, {"decisions", "findings"},
    {"decisions", "detail_hash"}, {"decisions", "hash"}, {"decisions", "detail"},
    {"run_ends", "seq"}, {"run_ends", "run_id"}, {"run_ends", "read"}, {"run_ends", "decided"},
    {"run_ends", "rejected"}, {"run_ends", "rejects"}, {"run_ends", "finished_at"},
    {"run_ends", "head_hash"}, {"run_ends", "hash"},
    {"overrides", "seq"}, {"overrides", "decision_seq"}, {"overrides", "run_id"},
    {"overrides", "case_key"}, {"overrides", "disposition"}, {"overrides", "previous"},
    {"overrides", "who"}, {"overrides", "why"}, {"overrides", "at"}, {"overrides", "hash"},
    {"erasures", "seq"}, {"erasures", "case_key"}, {"erasures", "decisions"},
    {"erasures", "who"}, {"erasures", "why"}, {"erasures", "at"}, {"erasures", "hash"},
    {"meta", "key"}, {"meta", "value"},
};
constexpr size_t kNumColumns = sizeof kColumns / sizeof kColumns[0];
static_assert(kNumColumns == 60, "store_seeds.py writes a seed for each column: update it");

const char* const kTables[] = {"rulesets", "runs", "decisions", "run_ends",
                               "overrides", "erasures", "meta"};
static_assert(sizeof kTables / sizeof kTables[0] == 7, "store_seeds.py counts the tables: update it");

// What someone poking at the store might also do, beyond editing cells.
const char* const kStatements[] = {
    "DELETE FROM meta",
    "DELETE FROM meta WHERE key = 'schema_version'",
    "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
    "UPDATE meta SET value = '4' WHERE key = 'schema_version'",
    "PRAGMA user_version = 0",
    "PRAGMA user_version = 2",
    "PRAGMA user_version = -1",
    "DROP TABLE erasures",
    "DROP TABLE overrides",
    "DROP TABLE run_ends",
    "DROP TABLE rulesets",
    "DROP TABLE meta",
    "DROP INDEX decisions_by_case_run",
    "DROP INDEX decisions_by_run_input",
    "DROP INDEX runs_by_fingerprint",
    "ALTER TABLE decisions RENAME COLUMN detail TO detail_gone",
    "ALTER TABLE decisions DROP COLUMN detail",
    "ALTER TABLE runs RENAME COLUMN detail_layout TO layout",
    "ALTER TABLE overrides DROP COLUMN why",
    "UPDATE decisions SET detail = NULL",
    "DELETE FROM decisions",
    "DELETE FROM runs",
    "DELETE FROM rulesets",
    "DELETE FROM run_ends",
    "UPDATE decisions SET run_id = run_id + 1",
    "UPDATE decisions SET case_key = 'AVR0000756'",
    "UPDATE decisions SET input_index = -input_index - 1",
    "UPDATE runs SET id = id + 10",
    "UPDATE overrides SET decision_seq = decision_seq + 1",
    "UPDATE erasures SET decisions = '[' || (SELECT group_concat(seq) FROM decisions) || ']'",
    "INSERT INTO erasures SELECT seq + 1000, case_key, decisions, who, why, at, hash FROM erasures",
    "INSERT INTO overrides SELECT seq + 1000, decision_seq, run_id, case_key, disposition, "
    "previous, who, why, at, hash FROM overrides",
    "UPDATE runs SET detail_layout = (SELECT detail_layout FROM runs ORDER BY id DESC LIMIT 1)",
    "UPDATE decisions SET detail = (SELECT detail FROM decisions d2 WHERE d2.seq > decisions.seq "
    "AND d2.detail IS NOT NULL LIMIT 1)",
    "CREATE TABLE extra(x)",
    "PRAGMA journal_mode = WAL",
};
constexpr size_t kNumStatements = sizeof kStatements / sizeof kStatements[0];
static_assert(kNumStatements == 36, "store_seeds.py writes a seed for each statement: update it");

const int64_t kIntegers[] = {
    0, 1, -1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 24, 30, 31, 32, 40, 63,
    64, 100, 127, 128, 255, 256, 1000, 65535, 65536, 2147483647, -2147483648LL, 4294967295LL,
    4294967296LL, 9007199254740992LL, 9007199254740993LL, 4611686018427387904LL,
    std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(),
    std::numeric_limits<int64_t>::max() - 1, std::numeric_limits<int64_t>::min() + 1, -2, -1000};
const double kDoubles[] = {
    0.0, -0.0, 0.5, 1.0, 1.5, -1.5, 2.0, 3.7, 1e300, -1e300, 1e20, -1e20, 4294967296.5,
    9.3e18, 1.8446744073709552e19, 9.223372036854775807e18, 2.2250738585072014e-308, 5e-324,
    std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
    std::numeric_limits<double>::quiet_NaN()};

// Reads the input front to back; past its end, zeros.
struct Reader {
  const uint8_t* p;
  size_t n;
  bool done() const { return n == 0; }
  uint8_t byte() {
    if (!n) return 0;
    --n;
    return *p++;
  }
  uint64_t u64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | byte();
    return v;
  }
  std::string bytes(size_t len) {
    len = std::min(len, n);
    std::string s(reinterpret_cast<const char*>(p), len);
    p += len;
    n -= len;
    return s;
  }
};

// A value for a parameter; `describe` for the verbose log.
struct Value {
  enum Kind { kNull, kInt, kReal, kText, kBlob } kind = kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;

  void bind(sqlite3_stmt* st, int at) const {
    switch (kind) {
      case kNull: sqlite3_bind_null(st, at); break;
      case kInt: sqlite3_bind_int64(st, at, i); break;
      case kReal: sqlite3_bind_double(st, at, d); break;
      case kText: sqlite3_bind_text64(st, at, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8); break;
      case kBlob: sqlite3_bind_blob64(st, at, s.data(), s.size(), SQLITE_TRANSIENT); break;
    }
  }
  std::string describe() const {
    switch (kind) {
      case kNull: return "NULL";
      case kInt: return std::to_string(i);
      case kReal: {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", d);
        return buf;
      }
      case kText: return "'" + s + "'";
      case kBlob: return "blob of " + std::to_string(s.size()) + " bytes";
    }
    return "?";
  }
};

Value read_value(Reader& r) {
  Value v;
  switch (r.byte() % 6) {
    case 0: v.kind = Value::kNull; break;
    case 1: {
      v.kind = Value::kInt;
      const uint8_t k = r.byte();
      constexpr size_t n = sizeof kIntegers / sizeof kIntegers[0];
      v.i = k < 128 ? kIntegers[k % n] : static_cast<int64_t>(r.u64());
      break;
    }
    case 2: {
      v.kind = Value::kReal;
      const uint8_t k = r.byte();
      constexpr size_t n = sizeof kDoubles / sizeof kDoubles[0];
      if (k < 128) {
        v.d = kDoubles[k % n];
      } else {
        const uint64_t bits = r.u64();
        std::memcpy(&v.d, &bits, sizeof v.d);
      }
      break;
    }
    case 3:
      v.kind = Value::kText;
      v.s = r.bytes(r.byte());
      break;
    case 4:
      v.kind = Value::kBlob;
      v.s = r.bytes(r.byte());
      break;
    default:
      v.kind = Value::kInt;
      v.i = static_cast<int8_t>(r.byte());
      break;
  }
  return v;
}

// Runs one statement with parameters; false (ignored by the caller) when SQLite refuses it.
bool run(sqlite3* db, const std::string& sql, const std::vector<Value>& params) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    if (g_verbose) std::fprintf(stderr, "  (not prepared: %s)\n", sqlite3_errmsg(db));
    return false;
  }
  for (size_t i = 0; i < params.size(); ++i) params[i].bind(st, static_cast<int>(i + 1));
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
  }
  if (g_verbose && rc != SQLITE_DONE) std::fprintf(stderr, "  (refused: %s)\n", sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return rc == SQLITE_DONE;
}

// The rowid of the row'th row of a table (modulo its row count), if it has rows.
std::optional<int64_t> nth_rowid(sqlite3* db, const char* table, uint8_t row) {
  sqlite3_stmt* st = nullptr;
  const std::string sql = std::string("SELECT rowid FROM ") + table +
                          " ORDER BY rowid LIMIT 1 OFFSET ?1 % (SELECT count(*) FROM " + table + ")";
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) return std::nullopt;
  sqlite3_bind_int(st, 1, row);
  std::optional<int64_t> out;
  if (sqlite3_step(st) == SQLITE_ROW) out = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return out;
}

// The case of a row of decisions, overrides or erasures (as text), to explain it later.
void note_case(sqlite3* db, const char* table, std::optional<int64_t> rowid,
               std::vector<std::string>& touched) {
  if (!rowid || std::strcmp(table, "meta") == 0 || std::strcmp(table, "rulesets") == 0 ||
      std::strcmp(table, "runs") == 0 || std::strcmp(table, "run_ends") == 0)
    return;
  for (const auto& k : column_texts(db, std::string("SELECT case_key FROM ") + table +
                                            " WHERE rowid = " + std::to_string(*rowid)))
    touched.push_back(k);
}

// Applies the input's edits; `touched`: the cases of the rows edited.
void apply_edits(sqlite3* db, Reader& r, std::vector<std::string>& touched) {
  for (int edits = 0; !r.done() && edits < 64; ++edits) {
    const uint8_t op = r.byte() % 8;
    if (op <= 2 || op == 3 || op == 6) {
      const Column& c = kColumns[r.byte() % kNumColumns];
      const auto rowid = nth_rowid(db, c.table, r.byte());
      const std::string target = std::string("UPDATE ") + c.table + " SET " + c.name;
      note_case(db, c.table, rowid, touched);
      if (op <= 2) {
        const Value v = read_value(r);
        if (g_verbose)
          std::fprintf(stderr, "edit: %s.%s of row %lld = %s\n", c.table, c.name,
                       static_cast<long long>(rowid.value_or(-1)), v.describe().c_str());
        if (rowid) run(db, target + " = ?1 WHERE rowid = ?2", {v, Value{Value::kInt, *rowid, 0, {}}});
      } else if (op == 3) {
        const uint16_t at = static_cast<uint16_t>(r.byte() << 8 | r.byte());
        const uint8_t cut = r.byte();
        Value text{Value::kText, 0, 0, r.bytes(r.byte())};
        if (g_verbose)
          std::fprintf(stderr, "edit: %s.%s of row %lld: at %u, %u bytes replaced by %s\n",
                       c.table, c.name, static_cast<long long>(rowid.value_or(-1)), at, cut,
                       text.describe().c_str());
        if (rowid) {
          // substr() counts characters of a text: cast to a blob to count bytes, and back.
          run(db,
              target + " = CAST(substr(CAST(" + c.name + " AS BLOB), 1, ?1 % (length(CAST(" +
                  c.name + " AS BLOB)) + 1)) || CAST(?2 AS BLOB) || substr(CAST(" + c.name +
                  " AS BLOB), ?1 % (length(CAST(" + c.name + " AS BLOB)) + 1) + 1 + ?3) AS TEXT) "
                  "WHERE rowid = ?4",
              {Value{Value::kInt, at, 0, {}}, text, Value{Value::kInt, cut, 0, {}},
               Value{Value::kInt, *rowid, 0, {}}});
        }
      } else {
        const Column& from = kColumns[r.byte() % kNumColumns];
        const auto from_rowid = nth_rowid(db, from.table, r.byte());
        if (g_verbose)
          std::fprintf(stderr, "edit: %s.%s of row %lld = %s.%s of row %lld\n", c.table, c.name,
                       static_cast<long long>(rowid.value_or(-1)), from.table, from.name,
                       static_cast<long long>(from_rowid.value_or(-1)));
        if (rowid && from_rowid)
          run(db,
              target + " = (SELECT " + from.name + " FROM " + from.table +
                  " WHERE rowid = ?1) WHERE rowid = ?2",
              {Value{Value::kInt, *from_rowid, 0, {}}, Value{Value::kInt, *rowid, 0, {}}});
      }
    } else if (op == 4 || op == 5) {
      const char* table = kTables[r.byte() % (sizeof kTables / sizeof kTables[0])];
      const auto rowid = nth_rowid(db, table, r.byte());
      note_case(db, table, rowid, touched);
      if (op == 4) {
        if (g_verbose)
          std::fprintf(stderr, "edit: delete row %lld of %s\n",
                       static_cast<long long>(rowid.value_or(-1)), table);
        if (rowid)
          run(db, std::string("DELETE FROM ") + table + " WHERE rowid = ?1",
              {Value{Value::kInt, *rowid, 0, {}}});
      } else {
        const Value seq = read_value(r);
        if (g_verbose)
          std::fprintf(stderr, "edit: copy row %lld of %s as rowid %s\n",
                       static_cast<long long>(rowid.value_or(-1)), table, seq.describe().c_str());
        if (rowid) {
          // A temporary copy of the row with another rowid (seq), inserted back.
          run(db, "DROP TABLE IF EXISTS temp.dup", {});
          run(db, std::string("CREATE TEMP TABLE dup AS SELECT rowid AS r_, * FROM ") + table +
                      " WHERE rowid = ?1",
              {Value{Value::kInt, *rowid, 0, {}}});
          run(db, "UPDATE temp.dup SET r_ = ?1", {seq});
          if (std::strcmp(table, "meta") == 0) {
            run(db, "INSERT INTO meta(rowid, key, value) SELECT r_, key, value FROM temp.dup", {});
          } else {
            run(db, "UPDATE temp.dup SET seq = r_", {});
            run(db, std::string("INSERT INTO ") + table + " SELECT * FROM temp.dup", {});
          }
          run(db, "DROP TABLE IF EXISTS temp.dup", {});
        }
      }
    } else {
      const char* sql = kStatements[r.byte() % kNumStatements];
      if (g_verbose) std::fprintf(stderr, "edit: %s\n", sql);
      run(db, sql, {});
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_verbose = std::getenv("CRIBLE_FUZZ_VERBOSE") != nullptr;
  // The directories of earlier runs that crashed (no atexit then), once their process is gone.
  for (const auto& entry : fs::directory_iterator("/dev/shm")) {
    const std::string name = entry.path().filename().string();
    const std::string prefix = "crible-store-fuzz-";
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::error_code ec;
      fs::remove_all(entry.path(), ec);
    }
  }
  g_dir = "/dev/shm/crible-store-fuzz-" + std::to_string(::getpid());
  fs::remove_all(g_dir);
  fs::create_directories(g_dir);
  g_store = g_dir + "/audit.sqlite";
  g_export = g_dir + "/export.csv";
  std::atexit([] {
    std::error_code ec;
    fs::remove_all(g_dir, ec);
  });
  build_base();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader r{data, size};
  const uint8_t head = r.byte();
  remove_store(g_store);
  write_file(g_store, g_images[head & 1]);
  std::vector<std::string> touched;
  {
    sqlite3* db = nullptr;
    if (sqlite3_open(g_store.c_str(), &db) != SQLITE_OK) die("cannot open the copy");
    apply_edits(db, r, touched);
    sqlite3_close(db);
  }
  if (const char* keep = std::getenv("CRIBLE_FUZZ_KEEP")) {
    remove_store(keep);
    fs::copy_file(g_store, keep);
  }

  // The cases explained (explaining all of them made an input take 0.4 s): one picked by
  // byte 0 among those the edited store has, then those of the rows edited (before and after
  // the edit) and of the overrides and erasures, three at most; all read as text whatever
  // their type. The runs exported: the latest, and the first four that decisions name.
  std::vector<std::string> keys, all;
  std::vector<int64_t> runs;
  {
    sqlite3* db = nullptr;
    sqlite3_open_v2(g_store.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    all = column_texts(db, "SELECT DISTINCT case_key FROM decisions ORDER BY seq");
    if (!all.empty()) keys.push_back(all[(head >> 2) % all.size()]);
    for (const auto& k : column_texts(db, "SELECT case_key FROM overrides UNION SELECT case_key FROM erasures"))
      touched.push_back(k);
    for (const auto& k : touched)
      if (keys.size() < 3 && std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    for (const auto& id : column_texts(db, "SELECT DISTINCT run_id FROM decisions LIMIT 4"))
      runs.push_back(std::strtoll(id.c_str(), nullptr, 10));
    sqlite3_close(db);
  }

  const int verified = verify();
  const bool intact = verified == 0;
  // An intact store reads back whole: every command succeeds.
  auto check = [&](const char* what, int code) {
    if (intact && code != 0) die(std::string(what) + " failed on a store that verifies");
  };
  check("audit runs", list_runs());
  check("audit export", export_run(std::nullopt));
  for (int64_t run : runs)
    if (run > 0) check("audit export --run", export_run(run));
  for (size_t i = 0; i < keys.size(); ++i) {
    // (A case of a row deleted from the end of the chain is gone from a store that verifies.)
    const bool decided = std::find(all.begin(), all.end(), keys[i]) != all.end();
    const int text = explain(keys[i], std::nullopt, "text");
    const int json = explain(keys[i], std::nullopt, "json");
    if (decided) {
      check("explain", text);
      check("explain --format json", json);
    }
    if (i < runs.size() && runs[i] > 0) explain(keys[i], runs[i], i % 2 ? "json" : "text");
  }
  // The writing commands last, when bit 1 of byte 0 says so: they read the same records
  // first.
  if ((head & 2) && !keys.empty()) {
    const std::string& key = keys[0];
    override_case(key, std::nullopt);
    erase_case(key);
    verify();
    explain(key, std::nullopt, "text");
    explain(key, std::nullopt, "json");
  }
  remove_store(g_store);
  return 0;
}
