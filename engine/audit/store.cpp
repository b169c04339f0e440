// audit::Store: opening and creating the SQLite store, appending chained records (rulesets,
// runs, decisions, run ends, overrides, erasures) and reading them back. verify() is in
// verify.cpp; the chain's byte encoding in detail/canonical.h.
//
// Store layout, schema version 3 (PRAGMA user_version and meta.schema_version):
//   rulesets, runs, decisions, run_ends, overrides, erasures
//                           the chained records (columns: detail/store_impl.h). Each is keyed
//                           by its seq, 1, 2, 3... over all the tables together, and carries
//                           its chain hash in its own row:
//                           hash = SHA-256(hash of seq-1 || canonical bytes of the record).
//   decisions.detail        the personal detail of a decision, beside the chain: the decision
//                           commits to it by detail_hash = SHA-256(detail), so it can be
//                           erased (set to NULL) while the chain still verifies.
// What all decisions of a run share is stored once, in its run record: the list of its
// criteria and signals (runs.findings: [[id, name, kind, points], ...]), of which a decision
// stores only the outcomes, one letter each (decisions.findings: p pass, f fail, u unknown,
// y fired, n not fired); and the layout of the details (runs.detail_layout), of which a
// decision's detail holds only the values.
//   meta(key, value)        schema version, creating crible version, encoding version.
// Review seals its decisions ahead of the append (DecisionSealer, on the building threads); the
// append uses a seal only when it follows the present head, so the chain is the same.
// Version 2 kept the hashes in a separate chain(seq, kind, hash) table and the details in a
// decision_details table: three rows a decision instead of one, which made writing the store
// a third slower (docs/decisions.md). The hashes are the same: a record's canonical bytes
// did not change. Version 1 stored each decision's rule names and texts in full.
// Triggers refuse UPDATE and DELETE on every table, except that a decision's detail may be
// set to NULL, and nothing else of the row changed, when an erasure record already lists that
// decision: erase() appends the erasure record first, then clears the details, in one
// transaction. The triggers are a guard against mistakes; verify() does not rely on them.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "audit/audit.h"
#include "audit/detail/canonical.h"
#include "audit/detail/store_impl.h"
#include "base/prefetch.h"
#include "base/threads.h"

namespace crible::audit {

using detail::Canonical;
using detail::Head;
using detail::Kind;
using detail::Query;
using detail::RecordWriter;
using detail::StoreImpl;
using detail::Transaction;

namespace {

// Tables whose every UPDATE and DELETE a trigger refuses; decisions refuse DELETE, and
// every UPDATE but an erasure (kSchema).
constexpr const char* kSealedTables[] = {"meta",     "rulesets",  "runs",
                                         "run_ends", "overrides", "erasures"};

constexpr const char* kSchema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE rulesets(seq INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE, path TEXT NOT NULL,
  source TEXT NOT NULL, sha256 TEXT NOT NULL UNIQUE, crible_version TEXT NOT NULL,
  stored_at TEXT NOT NULL, hash BLOB NOT NULL) STRICT;
CREATE TABLE runs(seq INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE,
  ruleset_id INTEGER NOT NULL, params TEXT NOT NULL, inputs TEXT NOT NULL, as_of TEXT NOT NULL,
  command TEXT NOT NULL, fingerprint TEXT NOT NULL, started_at TEXT NOT NULL,
  findings TEXT NOT NULL, detail_layout TEXT NOT NULL, hash BLOB NOT NULL) STRICT;
CREATE INDEX runs_by_fingerprint ON runs(fingerprint);
CREATE TABLE decisions(seq INTEGER PRIMARY KEY, run_id INTEGER NOT NULL,
  input_index INTEGER NOT NULL, case_key TEXT NOT NULL, disposition TEXT NOT NULL,
  disposition_rule TEXT NOT NULL, scores TEXT NOT NULL, fired TEXT NOT NULL,
  findings TEXT NOT NULL, detail_hash TEXT NOT NULL, hash BLOB NOT NULL, detail TEXT) STRICT;
CREATE UNIQUE INDEX decisions_by_run_input ON decisions(run_id, input_index);
CREATE INDEX decisions_by_case_run ON decisions(case_key, run_id);
CREATE TABLE run_ends(seq INTEGER PRIMARY KEY, run_id INTEGER NOT NULL UNIQUE,
  read INTEGER NOT NULL, decided INTEGER NOT NULL, rejected INTEGER NOT NULL,
  rejects TEXT NOT NULL, finished_at TEXT NOT NULL, head_hash TEXT NOT NULL,
  hash BLOB NOT NULL) STRICT;
CREATE TABLE overrides(seq INTEGER PRIMARY KEY, decision_seq INTEGER NOT NULL,
  run_id INTEGER NOT NULL, case_key TEXT NOT NULL, disposition TEXT NOT NULL,
  previous TEXT NOT NULL, who TEXT NOT NULL, why TEXT NOT NULL, at TEXT NOT NULL,
  hash BLOB NOT NULL) STRICT;
CREATE INDEX overrides_by_decision ON overrides(decision_seq);
CREATE TABLE erasures(seq INTEGER PRIMARY KEY, case_key TEXT NOT NULL, decisions TEXT NOT NULL,
  who TEXT NOT NULL, why TEXT NOT NULL, at TEXT NOT NULL, hash BLOB NOT NULL) STRICT;
CREATE INDEX erasures_by_case ON erasures(case_key);
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'audit store is append-only'); END;
CREATE TRIGGER decisions_erase_only BEFORE UPDATE ON decisions
WHEN NOT (NEW.detail IS NULL AND NEW.seq IS OLD.seq AND NEW.run_id IS OLD.run_id
  AND NEW.input_index IS OLD.input_index AND NEW.case_key IS OLD.case_key
  AND NEW.disposition IS OLD.disposition AND NEW.disposition_rule IS OLD.disposition_rule
  AND NEW.scores IS OLD.scores AND NEW.fired IS OLD.fired AND NEW.findings IS OLD.findings
  AND NEW.detail_hash IS OLD.detail_hash AND NEW.hash IS OLD.hash AND EXISTS (
  SELECT 1 FROM erasures e, json_each(e.decisions) j WHERE j.value = OLD.seq))
BEGIN SELECT RAISE(ABORT, 'audit store is append-only: a decision changes only when an erasure record erases its detail'); END;
)sql";

// ---- canonical JSON of the structured columns (format: detail/canonical.h) ----

using Pairs = std::vector<std::pair<std::string, std::string>>;

void pairs_json(std::string& out, const Pairs& pairs) {
  out += '[';
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i) out += ',';
    out += '[';
    detail::json_string(out, pairs[i].first);
    out += ',';
    detail::json_string(out, pairs[i].second);
    out += ']';
  }
  out += ']';
}

// The run's list of criteria and signals, without outcomes.
std::string findings_json(const std::vector<FindingRecord>& findings) {
  std::string out = "[";
  for (size_t i = 0; i < findings.size(); ++i) {
    const FindingRecord& f = findings[i];
    if (i) out += ',';
    out += '[';
    detail::json_string(out, f.rule_id);
    out += ',';
    detail::json_string(out, f.name);
    out += ',';
    detail::json_string(out, f.kind);
    out += ',';
    detail::json_number(out, f.points);
    out += ']';
  }
  return out + ']';
}

const char* outcome_of_code(char c) {
  switch (c) {
    case 'p': return "pass";
    case 'f': return "fail";
    case 'u': return "unknown";
    case 'y': return "fired";
    case 'n': return "not_fired";
    default: return nullptr;
  }
}

std::string inputs_json(const std::vector<InputFile>& inputs) {
  std::string out = "[";
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i) out += ',';
    out += "{\"path\":";
    detail::json_string(out, inputs[i].path);
    out += ",\"role\":";
    detail::json_string(out, inputs[i].role);
    out += ",\"sha256\":";
    detail::json_string(out, inputs[i].sha256);
    out += '}';
  }
  return out + ']';
}

std::string rejects_json(const std::vector<RejectRecord>& rejects) {
  std::string out = "[";
  for (size_t i = 0; i < rejects.size(); ++i) {
    if (i) out += ',';
    out += "{\"column\":";
    detail::json_string(out, rejects[i].column);
    out += ",\"line\":";
    detail::json_integer(out, static_cast<int64_t>(rejects[i].line));
    out += ",\"reason\":";
    detail::json_string(out, rejects[i].reason);
    out += '}';
  }
  return out + ']';
}

std::string seqs_json(const std::vector<int64_t>& seqs) {
  std::string out = "[";
  for (size_t i = 0; i < seqs.size(); ++i) {
    if (i) out += ',';
    detail::json_integer(out, seqs[i]);
  }
  return out + ']';
}

// ---- reading them back; false on anything unexpected (a damaged store), never a throw ----

using nlohmann::json;

std::optional<json> parse(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

bool get_string(const json& j, std::string& out) {
  if (!j.is_string()) return false;
  out = j.get_ref<const std::string&>();
  return true;
}

bool get_member(const json& obj, const char* key, std::string& out) {
  const auto it = obj.find(key);
  return it != obj.end() && get_string(*it, out);
}

bool read_pairs(const std::string& text, Pairs& out) {
  const auto j = parse(text);
  if (!j || !j->is_array()) return false;
  out.clear();
  for (const json& p : *j) {
    if (!p.is_array() || p.size() != 2) return false;
    auto& [name, value] = out.emplace_back();
    if (!get_string(p[0], name) || !get_string(p[1], value)) return false;
  }
  return true;
}

bool read_findings(const std::string& text, std::vector<FindingRecord>& out) {
  const auto j = parse(text);
  if (!j || !j->is_array()) return false;
  out.clear();
  out.reserve(j->size());
  for (const json& f : *j) {
    if (!f.is_array() || f.size() != 4) return false;
    FindingRecord& r = out.emplace_back();
    if (!get_string(f[0], r.rule_id) || !get_string(f[1], r.name) || !get_string(f[2], r.kind))
      return false;
    if (f[3].is_number()) {
      r.points = f[3].get<double>();
    } else if (f[3].is_null()) {
      r.points = std::numeric_limits<double>::quiet_NaN();  // written for a non-finite value
    } else {
      return false;
    }
  }
  return true;
}

bool read_inputs(const std::string& text, std::vector<InputFile>& out) {
  const auto j = parse(text);
  if (!j || !j->is_array()) return false;
  out.clear();
  for (const json& f : *j) {
    if (!f.is_object()) return false;
    InputFile& r = out.emplace_back();
    if (!get_member(f, "path", r.path) || !get_member(f, "role", r.role) ||
        !get_member(f, "sha256", r.sha256))
      return false;
  }
  return true;
}

bool read_rejects(const std::string& text, std::vector<RejectRecord>& out) {
  const auto j = parse(text);
  if (!j || !j->is_array()) return false;
  out.clear();
  for (const json& f : *j) {
    if (!f.is_object()) return false;
    RejectRecord& r = out.emplace_back();
    const auto line = f.find("line");
    if (line == f.end() || !line->is_number_unsigned()) return false;
    r.line = line->get<uint64_t>();
    if (!get_member(f, "column", r.column) || !get_member(f, "reason", r.reason)) return false;
  }
  return true;
}

// ---- appending ----

// Binds a record's chain hash (its columns are bound), inserts it and, on success, makes it
// the head: the end of append(), and all of appending a decision sealed ahead.
int insert_chained(Query& insert, int hash_column, Head& head, int64_t seq,
                   const detail::Digest& hash) {
  insert.bind_blob(hash_column, hash.data(), hash.size());
  const int rc = insert.step();
  insert.reset();
  if (rc == SQLITE_DONE) head = {seq, hash};
  return rc;
}

// Appends one chained record after `head`: `fill` writes the columns after seq, in the kind's
// column order; the record's chain hash is bound after them. Anything bound to `insert`
// beyond that (a decision's detail) is the caller's. Returns SQLITE_DONE, or the failing
// SQLite code (the message stays on the connection). On success `head` is the new record.
template <typename Fill>
int append(StoreImpl& m, Query& insert, Head& head, const Kind& kind, Fill&& fill) {
  Canonical& c = m.canonical;
  c.start(kind.name);
  RecordWriter w(insert, c);
  const int64_t seq = head.seq + 1;
  w.integer(seq);
  fill(w);
  return insert_chained(insert, w.bound() + 1, head, seq, m.sha.chain(head.hash, c.bytes()));
}

// append() for a single record with statements from the cache.
template <typename Fill>
Status append_one(StoreImpl& m, Head& head, const Kind& kind, Fill&& fill) {
  auto insert = m.query(detail::insert_sql(kind));
  if (!insert) return insert.error();
  if (append(m, *insert, head, kind, fill) != SQLITE_DONE)
    return m.error(std::string("cannot append a ") + kind.name + " record");
  return ok_status();
}

// Runs a one-row query; nullopt when it has no row, an Error when it fails.
template <typename Bind, typename Read>
auto one_row(StoreImpl& m, const std::string& sql, Bind&& bind, Read&& read)
    -> Result<std::optional<decltype(read(std::declval<Query&>()))>> {
  using T = decltype(read(std::declval<Query&>()));
  auto q = m.query(sql);
  if (!q) return q.error();
  bind(*q);
  const int rc = q->step();
  if (rc == SQLITE_ROW) return std::optional<T>(read(*q));
  if (rc == SQLITE_DONE) return std::optional<T>();
  return m.error("cannot read");
}

Result<int64_t> next_id(StoreImpl& m, const std::string& table) {
  auto r = one_row(
      m, "SELECT coalesce(max(id), 0) + 1 FROM " + table, [](Query&) {},
      [](Query& q) { return q.integer(0); });
  if (!r) return r.error();
  return r->value_or(1);
}

enum class RunState { kMissing, kOpen, kFinished };

Result<RunState> run_state(StoreImpl& m, int64_t run_id) {
  auto r = one_row(
      m, "SELECT EXISTS (SELECT 1 FROM run_ends WHERE run_id = ?1) FROM runs WHERE id = ?1",
      [&](Query& q) { q.bind(1, run_id); }, [](Query& q) { return q.integer(0) != 0; });
  if (!r) return r.error();
  if (!r->has_value()) return RunState::kMissing;
  return **r ? RunState::kFinished : RunState::kOpen;
}

Error no_run(int64_t run_id) {
  return Error{"no run " + std::to_string(run_id) + " in the audit store"};
}

// `which`: "decision #12", "run 2".
Error damaged(const StoreImpl& m, const std::string& which, const char* what) {
  return Error{"audit store " + m.path + ": " + which + " has a malformed " + what +
               " column; run `crible audit verify`"};
}

// What the decisions of a run share: RunStart::findings and detail_layout.
struct RunLayout {
  std::vector<FindingRecord> findings;
  std::vector<bool> is_signal;  // by finding: a signal (y/n), else a criterion (p/f/u)
  std::string detail_layout;
};

// `decision`: "decision #4 (case AVR100001)" when the layout is read to explain that
// decision, for the messages.
Result<RunLayout> run_layout(StoreImpl& m, int64_t run_id, const std::string& decision = "") {
  auto r = one_row(
      m, "SELECT findings, detail_layout FROM runs WHERE id = ?",
      [&](Query& q) { q.bind(1, run_id); },
      [](Query& q) { return std::pair(q.text(0), q.text(1)); });
  if (!r) return r.error();
  if (!r->has_value()) return no_run(run_id);
  RunLayout out;
  if (!read_findings((*r)->first, out.findings))
    return damaged(m, "run " + std::to_string(run_id), "findings");
  // Outcomes are read by kind (read_decision): a kind that is neither, read as a criterion,
  // would give a signal edited to 'rule' the outcomes pass, fail or unknown.
  for (const FindingRecord& f : out.findings) {
    if (f.kind != "criterion" && f.kind != "signal") {
      return Error{"audit store " + m.path + ": " + (decision.empty() ? "" : decision + ": ") +
                   "run " + std::to_string(run_id) + " lists " + f.rule_id + " " + f.name +
                   " as a '" + f.kind +
                   "', neither a criterion nor a signal; run `crible audit verify`"};
    }
    out.is_signal.push_back(f.kind == "signal");
  }
  out.detail_layout = std::move((*r)->second);
  return out;
}

bool has_index(StoreImpl& m, const char* name) {
  auto r = one_row(
      m, "SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?",
      [&](Query& q) { q.bind(1, std::string_view(name)); }, [](Query&) { return true; });
  return r && r->has_value();
}

// The decision about a case in the given run, or in the latest run that decided it: its seq
// and run. The index is named because, given the run too, SQLite would otherwise walk every
// decision of the run in input order (decisions_by_run_input) to find one case. An index
// dropped with the sqlite3 shell loses no record (verify() warns of it): the case is then
// found without it, slowly, rather than not at all ("no such index").
Result<std::optional<std::pair<int64_t, int64_t>>> find_decision(StoreImpl& m,
                                                                 const std::string& case_key,
                                                                 std::optional<int64_t> run_id) {
  const std::string sql = std::string("SELECT seq, run_id FROM decisions ") +
                          (has_index(m, "decisions_by_case_run")
                               ? "INDEXED BY decisions_by_case_run "
                               : "") +
                          "WHERE case_key = ?1" + (run_id ? " AND run_id = ?2" : "") +
                          " ORDER BY run_id DESC, input_index LIMIT 1";
  return one_row(
      m, sql,
      [&](Query& q) {
        q.bind(1, case_key);
        if (run_id) q.bind(2, *run_id);
      },
      [](Query& q) { return std::pair(q.integer(0), q.integer(1)); });
}

Error no_decision(const std::string& case_key, std::optional<int64_t> run_id) {
  return Error{"no decision about case " + case_key + " in the audit store" +
               (run_id ? " for run " + std::to_string(*run_id) : std::string())};
}

constexpr const char* kDecisionColumns =
    "d.seq, d.run_id, d.input_index, d.case_key, d.disposition, d.disposition_rule, d.scores, "
    "d.fired, d.findings, d.detail, d.detail_hash FROM decisions d";

// Fills `d` from a row of kDecisionColumns, reusing its strings' storage. `brief`: as in
// Store::for_each_decision.
Status read_decision(const StoreImpl& m, const Query& q, const RunLayout& layout,
                     DecisionRecord& d, bool brief = false) {
  const int64_t seq = q.integer(0);
  d.input_index = static_cast<uint64_t>(q.integer(2));
  d.case_key = q.view(3);
  d.disposition = q.view(4);
  d.disposition_rule = q.view(5);
  if (!read_pairs(q.text(6), d.scores))
    return damaged(m, "decision #" + std::to_string(seq), "scores");
  d.fired = q.view(7);
  const std::string_view codes = q.view(8);
  if (codes.size() != layout.findings.size())
    return damaged(m, "decision #" + std::to_string(seq), "findings");
  d.outcomes = codes;
  // The outcome of a signal for a signal, of a criterion for a criterion: "pass" is no
  // signal's outcome (append_decisions refuses it too).
  for (size_t i = 0; i < codes.size(); ++i) {
    const char c = codes[i];
    if (layout.is_signal[i] ? (c != 'y' && c != 'n') : (c != 'p' && c != 'f' && c != 'u'))
      return damaged(m, "decision #" + std::to_string(seq), "findings");
  }
  if (brief) return ok_status();
  d.findings = layout.findings;
  for (size_t i = 0; i < codes.size(); ++i) d.findings[i].outcome = outcome_of_code(codes[i]);
  d.detail_json = q.view(9);  // "" once erased (NULL)
  d.detail_hash = q.view(10);
  return ok_status();
}

constexpr const char* kRunColumns =
    "SELECT r.id, r.ruleset_id, s.sha256, r.started_at, r.as_of, r.command, r.inputs, "
    // The head shown for a run is the hash of its closing record: the chain as the run left
    // it (run_ends.head_hash, inside that record, is the hash just before it).
    "e.finished_at, e.read, e.rejected, lower(hex(e.hash)), "
    "e.rejects, "
    "CASE WHEN e.seq IS NULL THEN (SELECT count(*) FROM decisions d WHERE d.run_id = r.id) "
    "ELSE e.decided END, "
    "s.seq "  // NULL when no ruleset record has the run's ruleset_id
    "FROM runs r LEFT JOIN rulesets s ON s.id = r.ruleset_id "
    "LEFT JOIN run_ends e ON e.run_id = r.id";

// A count of a run (read, decided, rejected): a non-negative integer as stored. Anything else
// was edited by hand; read as unsigned, -1 printed as 18446744073709551615.
Status read_count(const StoreImpl& m, const Query& q, int col, int64_t run_id, const char* name,
                  uint64_t& out) {
  if (!q.is_integer(col) || q.integer(col) < 0) {
    return Error{"audit store " + m.path + ": run " + std::to_string(run_id) + " has " +
                 (q.is_null(col) ? std::string("no") : "'" + q.text(col) + "' as its") + " " +
                 name + " count, not a number of cases; run `crible audit verify`"};
  }
  out = static_cast<uint64_t>(q.integer(col));
  return ok_status();
}

Status read_run(const StoreImpl& m, const Query& q, RunSummary& r) {
  r.run_id = q.integer(0);
  r.ruleset_id = q.integer(1);
  r.ruleset_stored = !q.is_null(13);
  r.ruleset_sha256 = q.text(2);
  r.started_at = q.text(3);
  r.as_of = q.text(4);
  r.command = q.text(5);
  if (!read_inputs(q.text(6), r.inputs))
    return damaged(m, "run " + std::to_string(r.run_id), "inputs");
  const bool complete = !q.is_null(7);
  r.status = complete ? "complete" : "incomplete";
  r.finished_at = q.text(7);
  r.read = r.rejected = 0;
  if (complete) {
    if (Status s = read_count(m, q, 8, r.run_id, "read", r.read); !s) return s;
    if (Status s = read_count(m, q, 9, r.run_id, "rejected", r.rejected); !s) return s;
  }
  r.head_hash = q.is_null(10) ? "" : q.text(10);
  r.rejects.clear();
  if (complete && !read_rejects(q.text(11), r.rejects))
    return damaged(m, "run " + std::to_string(r.run_id), "rejects");
  if (Status s = read_count(m, q, 12, r.run_id, "decided", r.decided); !s) return s;
  // A finished run's counts add up, as finish_run wrote them; otherwise one was edited.
  if (complete && (r.rejected != r.rejects.size() || r.read != r.decided + r.rejected)) {
    return Error{"audit store " + m.path + ": run " + std::to_string(r.run_id) + " counts " +
                 std::to_string(r.read) + " cases read, " + std::to_string(r.decided) +
                 " decided and " + std::to_string(r.rejected) + " rejected (" +
                 std::to_string(r.rejects.size()) +
                 " listed), which do not add up; run `crible audit verify`"};
  }
  return ok_status();
}

// A decision is appended only to a run stored before it: a run that is missing was deleted
// by hand, and "no run N" alone would not say which decision pointed to it.
Error run_of_decision_missing(const StoreImpl& m, int64_t run_id, int64_t seq,
                              const std::string& case_key) {
  return Error{"audit store " + m.path + ": decision #" + std::to_string(seq) + " (case " +
               case_key + ") belongs to run " + std::to_string(run_id) +
               ", which is not in the store; run `crible audit verify`"};
}

// The run of decision #seq about `case_key`.
Result<RunSummary> load_run(StoreImpl& m, int64_t run_id, int64_t seq,
                            const std::string& case_key) {
  auto q = m.query(std::string(kRunColumns) + " WHERE r.id = ?");
  if (!q) return q.error();
  q->bind(1, run_id);
  const int rc = q->step();
  if (rc == SQLITE_DONE) return run_of_decision_missing(m, run_id, seq, case_key);
  if (rc != SQLITE_ROW) return m.error("cannot read run " + std::to_string(run_id));
  RunSummary r;
  if (Status s = read_run(m, *q, r); !s) return s.error();
  return r;
}

}  // namespace

// ---- detail: SQL for the kinds, statements, transactions ----

namespace detail {

int column_count(const Kind& kind) {
  return 1 + static_cast<int>(std::count(kind.columns, kind.columns + std::strlen(kind.columns), ','));
}

std::string insert_sql(const Kind& kind) {
  std::string marks = "?";
  for (int i = 1; i < column_count(kind); ++i) marks += ", ?";
  return std::string("INSERT INTO ") + kind.table + "(" + kind.columns +
         (kind.has_detail ? ", hash, detail" : ", hash") + ") VALUES(" + marks +
         (kind.has_detail ? ", ?, ?)" : ", ?)");
}

std::string select_sql(const Kind& kind) {
  return std::string("SELECT ") + kind.columns + (kind.has_detail ? ", hash, detail" : ", hash") +
         " FROM " + kind.table + " ORDER BY seq";
}

Result<Transaction> Transaction::begin(StoreImpl& impl) {
  const int rc = sqlite3_exec(impl.db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    return Error{"audit store " + impl.path +
                 " is being written by another crible process; gave up after waiting " +
                 std::to_string(impl.options.busy_timeout_ms / 1000) +
                 " s for it; try again when it has finished"};
  }
  if (rc != SQLITE_OK) return impl.error("cannot start a write transaction");
  return Transaction(&impl);
}

Transaction::~Transaction() {
  if (impl_) sqlite3_exec(impl_->db, "ROLLBACK", nullptr, nullptr, nullptr);
}

Status Transaction::commit() {
  StoreImpl* impl = impl_;
  if (sqlite3_exec(impl->db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
    return impl->error("cannot commit");  // the destructor rolls back
  impl_ = nullptr;
  return ok_status();
}

Result<Head> read_head(StoreImpl& impl) {
  // The records of one chain are spread over six tables: the head is the highest seq of all,
  // each found by its table's rowid without a scan.
  Head head;
  for (const Kind* kind : kKinds) {
    auto q = impl.query(std::string("SELECT seq, hash FROM ") + kind->table +
                        " ORDER BY seq DESC LIMIT 1");
    if (!q) return q.error();
    const int rc = q->step();
    if (rc == SQLITE_DONE) continue;
    if (rc != SQLITE_ROW) return impl.error("cannot read the chain head");
    const int64_t seq = q->integer(0);
    if (seq <= head.seq) continue;
    const std::string_view hash = q->blob(1);
    if (hash.size() != head.hash.size()) {
      return Error{"audit store " + impl.path + ": the chain head #" + std::to_string(seq) +
                   " has a malformed hash; run `crible audit verify`"};
    }
    head.seq = seq;
    std::copy(hash.begin(), hash.end(), head.hash.begin());
  }
  // Only an edit makes a record #9223372036854775807; the next would be numbered head.seq + 1,
  // an overflow (it was stored as #-9223372036854775808).
  if (head.seq == std::numeric_limits<int64_t>::max()) {
    return Error{"audit store " + impl.path + ": the chain head is record #" +
                 std::to_string(head.seq) +
                 ", the last number a record can have: nothing can be appended after it; run "
                 "`crible audit verify`"};
  }
  return head;
}

}  // namespace detail

// ---- Impl ----

detail::StoreImpl::~StoreImpl() {
  writeback.reset();  // it uses the connection's descriptors
  for (auto& [sql, stmt] : statements) sqlite3_finalize(stmt);
  sqlite3_close_v2(db);
}

Result<Query> detail::StoreImpl::query(const std::string& sql) {
  auto it = statements.find(sql);
  if (it == statements.end()) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &stmt, nullptr) != SQLITE_OK)
      return error("cannot prepare `" + sql + "`");
    it = statements.emplace(sql, stmt).first;
  }
  return Query(it->second);
}

// SQLite out of memory is the run's memory, not the store's data: exit code 5 as for
// std::bad_alloc (cli/main.cpp), the store as consistent as after it.
Error detail::StoreImpl::error(std::string_view what) const {
  Error e{"audit store " + path + ": " + std::string(what) + ": " + sqlite3_errmsg(db)};
  if (sqlite3_errcode(db) == SQLITE_NOMEM) e.exit_code = kExitOutOfMemory;
  return e;
}

Status detail::StoreImpl::exec(const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return error(sql);
  return ok_status();
}

// ---- Store ----

Store::Store(Impl* impl) : impl_(impl) {}
Store::Store(Store&& other) noexcept : impl_(other.impl_) { other.impl_ = nullptr; }
Store& Store::operator=(Store&& other) noexcept {
  if (this != &other) {
    delete impl_;
    impl_ = other.impl_;
    other.impl_ = nullptr;
  }
  return *this;
}
Store::~Store() { delete impl_; }

namespace {

// The schema version a store declares (the larger of user_version and meta.schema_version),
// and whether it has any table at all.
struct Declared {
  int64_t version = 0;
  int64_t tables = 0;
};

Result<Declared> declared_version(StoreImpl& m) {
  Declared d;
  auto v = one_row(
      m, "PRAGMA user_version", [](Query&) {}, [](Query& q) { return q.integer(0); });
  if (!v) {
    if (sqlite3_errcode(m.db) == SQLITE_NOTADB)
      return Error{m.path + " is not an audit store (not a SQLite database)"};
    return Error{"cannot open audit store " + m.path + ": " + sqlite3_errmsg(m.db)};
  }
  d.version = v->value_or(0);
  auto t = one_row(
      m, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
      [](Query&) {}, [](Query& q) { return q.integer(0); });
  if (!t) return t.error();
  d.tables = t->value_or(0);
  if (d.tables > 0) {
    // A missing meta table (or row) is left for verify() to notice; only a newer version stops.
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(m.db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &stmt,
                           nullptr) == SQLITE_OK) {
      if (sqlite3_step(stmt) == SQLITE_ROW)
        d.version = std::max<int64_t>(d.version, sqlite3_column_int64(stmt, 0));
    }
    sqlite3_finalize(stmt);
  }
  return d;
}

// 16 KB pages: a decision row is ~750 bytes, and with SQLite's default 4 KB pages a fifth of
// each page went unused and B-tree splits were four times as frequent. Writing 1M decisions
// of the reference ruleset took 5.6 s instead of 7.4 s, in 13% less space (docs/decisions.md).
// Only takes effect on an empty database before it enters WAL mode.
constexpr const char* kPageSize = "PRAGMA page_size = 16384";

Status create_schema(StoreImpl& m) {
  std::string sql = kSchema;
  for (const char* table : kSealedTables) {
    for (const char* op : {"UPDATE", "DELETE"}) {
      sql += std::string("CREATE TRIGGER ") + table + "_no_" +
             (op[0] == 'U' ? "update" : "delete") + " BEFORE " + op + " ON " + table +
             " BEGIN SELECT RAISE(ABORT, 'audit store is append-only'); END;\n";
    }
  }
  auto now = detail::now_iso();
  if (!now) return now.error();
  sql += "INSERT INTO meta(key, value) VALUES ('schema_version', '" +
         std::to_string(kSchemaVersion) +
         "'), ('canonical_encoding', '1'), ('created_by', 'crible " + std::string(CRIBLE_VERSION) +
         "'), ('created_at', '" + *now + "');\n";
  sql += "PRAGMA user_version = " + std::to_string(kSchemaVersion) + ";\n";
  return m.exec(sql.c_str());
}

}  // namespace

namespace {

// Why sqlite3_open_v2 failed. SQLite says only "unable to open database file"; the system's
// reason (a missing directory, a directory, no permission) is what the user can act on.
std::string open_failure(sqlite3* db, int rc) {
  const int sys = db ? sqlite3_system_errno(db) : 0;
  if (sys != 0) return std::strerror(sys);
  return db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
}

// A store appears whole or not at all. Created in place, a review killed between SQLite's
// creating the file and committing the schema would leave an empty file that `audit verify`
// must refuse (an emptied store is not an intact one). So the schema is written to a private
// file beside it, which is then linked to the final name: link() never replaces an existing
// file, so when two reviews race, both end up using the one that won.
Status create_store_file(const std::string& path) {
  const std::string tmp = path + ".creating-" + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  {
    detail::StoreImpl m;
    const int rc = sqlite3_open_v2(tmp.c_str(), &m.db,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                   nullptr);
    if (rc != SQLITE_OK) {
      const std::string why = open_failure(m.db, rc);
      ::unlink(tmp.c_str());
      return Error{"cannot create audit store " + path + ": " + why};
    }
    if (Status s = m.exec(kPageSize); !s) {
      ::unlink(tmp.c_str());
      return s.error();
    }
    auto txn = Transaction::begin(m);
    if (!txn) {
      ::unlink(tmp.c_str());
      return txn.error();
    }
    Status made = create_schema(m);
    if (made) made = txn->commit();
    if (!made) {
      ::unlink(tmp.c_str());
      return made.error();
    }
  }
  const bool linked = ::link(tmp.c_str(), path.c_str()) == 0;
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (!linked && link_errno != EEXIST)
    return Error{"cannot create audit store " + path + ": " + std::strerror(link_errno)};
  return ok_status();
}

}  // namespace

namespace {

// SQLite counts every allocation under a global mutex for sqlite3_memory_used(), which
// crible never asks; off, appending a decision takes a few percent less CPU. Only possible
// before SQLite initialises, so done once, before the first connection.
void configure_sqlite() {
  static const bool done = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)done;
}

}  // namespace

Result<Store> Store::open(const std::string& path, const OpenOptions& options) {
  configure_sqlite();
  if (options.create && ::access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
    if (Status s = create_store_file(path); !s) return s.error();
  }
  auto m = std::make_unique<Impl>();
  m->path = path;
  m->options = options;
  // NOMUTEX: a Store is used by one thread at a time, so SQLite's per-call locking is waste.
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (options.create ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(path.c_str(), &m->db, flags, nullptr);
  if (rc != SQLITE_OK) {
    const int sys = m->db ? sqlite3_system_errno(m->db) : 0;
    if (!options.create && rc == SQLITE_CANTOPEN && (sys == 0 || sys == ENOENT))
      return Error{"no audit store at " + path};
    return Error{"cannot open audit store " + path + ": " + open_failure(m->db, rc)};
  }
  sqlite3_extended_result_codes(m->db, 1);
  sqlite3_busy_timeout(m->db, options.busy_timeout_ms);

  auto declared = declared_version(*m);
  if (!declared) return declared.error();
  if (declared->version > kSchemaVersion) {
    return Error{"audit store schema version " + std::to_string(declared->version) +
                 " is newer than this crible supports (" + std::to_string(kSchemaVersion) +
                 "); upgrade crible"};
  }
  if (declared->version > 0 && declared->version < kSchemaVersion) {
    return Error{"audit store " + path + " has schema version " +
                 std::to_string(declared->version) +
                 ", written by a development version of crible before the first release; this "
                 "crible reads version " + std::to_string(kSchemaVersion) +
                 " (review the cases again into a new store)"};
  }
  if (declared->version == 0 && declared->tables > 0)
    return Error{path + " is not a crible audit store (it holds other tables)"};
  if (declared->version == 0 && !options.create)
    return Error{path + " is not a crible audit store (it is empty)"};

  if (declared->version == 0) {
    if (Status s = m->exec(kPageSize); !s) return s.error();
  }
  // WAL: readers (explain, verify) never block the writer and a killed writer loses only its
  // uncommitted transaction. NORMAL syncs at checkpoints, not at every commit: a power cut may
  // lose the last batches, never consistency, and a resumed review redoes them. secure_delete
  // zeroes erased detail instead of leaving it in free space.
  for (const char* pragma :
       {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA secure_delete = ON"}) {
    if (Status s = m->exec(pragma); !s) return s.error();
  }
  if (declared->version == 0) {
    auto txn = Transaction::begin(*m);
    if (!txn) return txn.error();
    auto again = declared_version(*m);  // another process may have created it meanwhile
    if (!again) return again.error();
    if (again->version == 0) {
      if (Status s = create_schema(*m); !s) return s.error();
    }
    if (Status s = txn->commit(); !s) return s.error();
  }
  return Store(m.release());
}

Result<int64_t> Store::begin_run(const RulesetVersion& ruleset, const RunStart& start) {
  Impl& m = *impl_;
  if (detail::to_hex(m.sha.digest(ruleset.source)) != ruleset.sha256)
    return Error{"the sha256 given for ruleset " + ruleset.path + " is not that of its source"};
  auto now = detail::now_iso();
  if (!now) return now.error();
  auto txn = Transaction::begin(m);
  if (!txn) return txn.error();
  auto head = detail::read_head(m);
  if (!head) return head.error();

  // A ruleset is stored once, whatever path it was read from the next times.
  auto found = one_row(
      m, "SELECT id FROM rulesets WHERE sha256 = ?", [&](Query& q) { q.bind(1, ruleset.sha256); },
      [](Query& q) { return q.integer(0); });
  if (!found) return found.error();
  int64_t ruleset_id = 0;
  if (found->has_value()) {
    ruleset_id = **found;
  } else {
    auto id = next_id(m, "rulesets");
    if (!id) return id.error();
    ruleset_id = *id;
    Status s = append_one(m, *head, detail::kRuleset, [&](RecordWriter& w) {
      w.integer(ruleset_id);
      w.text(ruleset.path);
      w.text(ruleset.source);
      w.text(ruleset.sha256);
      w.text(ruleset.crible_version);
      w.text(*now);
    });
    if (!s) return s.error();
  }

  // Resume: the same command whose run never finished (killed, or failed mid-way).
  if (!start.fingerprint.empty()) {
    auto open = one_row(
        m,
        "SELECT id FROM runs r WHERE fingerprint = ? AND ruleset_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM run_ends e WHERE e.run_id = r.id) ORDER BY id DESC LIMIT 1",
        [&](Query& q) {
          q.bind(1, start.fingerprint);
          q.bind(2, ruleset_id);
        },
        [](Query& q) { return q.integer(0); });
    if (!open) return open.error();
    if (open->has_value()) {
      if (Status s = txn->commit(); !s) return s.error();
      return **open;
    }
  }

  auto id = next_id(m, "runs");
  if (!id) return id.error();
  Pairs params = start.params;
  std::sort(params.begin(), params.end());
  std::string params_text;
  pairs_json(params_text, params);
  Status s = append_one(m, *head, detail::kRun, [&](RecordWriter& w) {
    w.integer(*id);
    w.integer(ruleset_id);
    w.text(params_text);
    w.text(inputs_json(start.inputs));
    w.text(start.as_of);
    w.text(start.command);
    w.text(start.fingerprint);
    w.text(*now);
    w.text(findings_json(start.findings));
    w.text(start.detail_layout);
  });
  if (!s) return s.error();
  if (Status c = txn->commit(); !c) return c.error();
  return *id;
}

std::vector<uint64_t> Store::already_decided(int64_t run_id) {
  std::vector<uint64_t> out;
  auto q = impl_->query("SELECT input_index FROM decisions WHERE run_id = ? ORDER BY input_index");
  if (!q) return out;  // an unreadable store fails again, with its message, at the next append
  q->bind(1, run_id);
  while (q->step() == SQLITE_ROW) out.push_back(static_cast<uint64_t>(q->integer(0)));
  return out;
}

namespace {

// Why a decision cannot join the run (its outcomes do not fit the run's findings, or its
// detail hash is malformed), or nullopt: the checks of append_decisions, shared with the
// sealer so that it never seals what the append would refuse.
std::optional<Error> misfit(int64_t run_id, const std::vector<bool>& is_signal,
                            const DecisionRecord& d, bool check_detail_hash = true) {
  // Only the outcomes are stored: the rules themselves are the run's.
  // Bitwise, not short-circuit, tests (see lower_hex below).
  bool fits = d.outcomes.size() == is_signal.size();
  for (size_t i = 0; fits && i < d.outcomes.size(); ++i) {
    const char c = d.outcomes[i];
    fits = is_signal[i] ? ((c == 'y') | (c == 'n')) : ((c == 'p') | (c == 'f') | (c == 'u'));
  }
  if (!fits) {
    return Error{"the decision for input " + std::to_string(d.input_index) +
                 " does not give one outcome for each criterion and signal of run " +
                 std::to_string(run_id)};
  }
  // A decision reads back with an empty detail only once an erasure erased it (NULL): one
  // appended empty would read as erased with no erasure record, which `crible explain`
  // reports as a broken store although the chain commits to it and verify passes it.
  if (d.detail_json.empty()) {
    return Error{"the decision for input " + std::to_string(d.input_index) +
                 " has no detail (only an erasure empties one)"};
  }
  // Without branches: digits and letters come at random in a hash, so a test per character
  // mispredicts half the time, and that was most of checking a decision.
  if (!check_detail_hash) return std::nullopt;
  bool lower_hex = true;
  for (const char c : d.detail_hash) {
    const auto u = static_cast<unsigned char>(c);
    lower_hex &= (static_cast<unsigned char>(u - '0') < 10) | (static_cast<unsigned char>(u - 'a') < 6);
  }
  if (!d.detail_hash.empty() && (d.detail_hash.size() != 64 || !lower_hex)) {
    return Error{"the decision for input " + std::to_string(d.input_index) +
                 " has a malformed detail hash"};
  }
  return std::nullopt;
}

// The columns of a decision after its seq, in kDecision's order: one function for the
// append, the sealer and the sealed append, so that what is hashed is what is stored.
template <typename Writer>
void write_decision(Writer& w, int64_t run_id, const DecisionRecord& d, std::string_view scores,
                    std::string_view committed_detail_hash) {
  w.integer(run_id);
  w.integer(static_cast<int64_t>(d.input_index));
  w.text_kept(d.case_key);
  w.text_kept(d.disposition);
  w.text_kept(d.disposition_rule);
  w.text_kept(scores);
  w.text_kept(d.fired);
  w.text_kept(d.outcomes);
  w.text_kept(committed_detail_hash);
}

// The sealer's writer: canonical bytes only.
struct CanonicalWriter {
  Canonical& c;
  void integer(int64_t v) { c.integer(v); }
  void text_kept(std::string_view s) { c.text(s); }
};

// The sealed append's writer: bindings only (texts not copied: they outlive the step).
struct BindingWriter {
  Query& q;
  int i = 0;
  void integer(int64_t v) { q.bind(++i, v); }
  void text_kept(std::string_view s) { q.bind_static(++i, s); }
};

// The texts of a record that seal() reads, fetched ahead: the records were written by other
// cores and have left this one's cache, and waiting for them was most of sealing's time.
void prefetch_texts(const DecisionRecord& d) {
  for (const std::string* t : {&d.case_key, &d.disposition_rule, &d.seal.scores, &d.fired,
                               &d.outcomes, &d.detail_hash}) {
    prefetch_for_read(t->data());
  }
}

}  // namespace



struct DecisionSealer::Impl {
  int64_t run_id = 0;
  std::vector<bool> is_signal;
  Head head;            // of the last record sealed
  bool broken = false;  // a record could not be sealed: nothing after it is
  detail::Sha256 sha;
  Canonical canonical;
};

DecisionSealer::DecisionSealer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DecisionSealer::DecisionSealer(DecisionSealer&&) noexcept = default;
DecisionSealer& DecisionSealer::operator=(DecisionSealer&&) noexcept = default;
DecisionSealer::~DecisionSealer() = default;

void DecisionSealer::prepare(DecisionRecord& d) const {
  const Impl& s = *impl_;
  d.seal.seq = 0;
  d.seal.run_id = 0;
  const bool hash_here = d.detail_hash.empty();  // then it needs no checking
  if (misfit(s.run_id, s.is_signal, d, !hash_here)) return;
  if (hash_here) hash_detail(d);
  d.seal.scores.clear();
  pairs_json(d.seal.scores, d.scores);
  d.seal.run_id = s.run_id;
}

void DecisionSealer::seal(std::vector<DecisionRecord>& batch) {
  Impl& s = *impl_;
  constexpr size_t kAhead = 4;
  for (size_t i = 0; i < std::min(kAhead, batch.size()); ++i) prefetch_texts(batch[i]);
  for (size_t i = 0; i < batch.size(); ++i) {
    DecisionRecord& d = batch[i];
    if (i + kAhead < batch.size()) prefetch_texts(batch[i + kAhead]);
    if (s.broken || d.seal.run_id != s.run_id) {
      s.broken = true;
      d.seal.seq = 0;
      continue;
    }
    const int64_t seq = s.head.seq + 1;
    s.canonical.start(detail::kDecision.name);
    CanonicalWriter w{s.canonical};
    w.integer(seq);
    write_decision(w, s.run_id, d, d.seal.scores, d.detail_hash);
    d.seal.seq = seq;
    d.seal.prev = s.head.hash;
    d.seal.hash = s.sha.chain(s.head.hash, s.canonical.bytes());
    s.head = {seq, d.seal.hash};
  }
}

Result<DecisionSealer> Store::decision_sealer(int64_t run_id) {
  Impl& m = *impl_;
  auto layout = run_layout(m, run_id);
  if (!layout) return layout.error();
  auto head = detail::read_head(m);
  if (!head) return head.error();
  auto impl = std::make_unique<DecisionSealer::Impl>();
  impl->run_id = run_id;
  impl->is_signal = layout->is_signal;
  impl->head = *head;
  return DecisionSealer(std::move(impl));
}

Status Store::append_decisions(int64_t run_id, const std::vector<DecisionRecord>& batch) {
  if (batch.empty()) return ok_status();
  Impl& m = *impl_;
  // One transaction per batch, the head read inside it: a kill at any moment leaves either
  // the whole batch chained or none of it.
  auto txn = Transaction::begin(m);
  if (!txn) return txn.error();
  auto state = run_state(m, run_id);
  if (!state) return state.error();
  if (*state == RunState::kMissing) return no_run(run_id);
  if (*state == RunState::kFinished)
    return Error{"run " + std::to_string(run_id) + " is finished; it takes no more decisions"};
  auto head = detail::read_head(m);
  if (!head) return head.error();
  auto layout = run_layout(m, run_id);
  if (!layout) return layout.error();

  static const std::string kInsertDecision = detail::insert_sql(detail::kDecision);
  static const int kDetailColumn = detail::column_count(detail::kDecision) + 2;
  auto insert = m.query(kInsertDecision);
  if (!insert) return insert.error();

  const std::vector<bool>& is_signal = layout->is_signal;
  std::string scores;
  std::string detail_hash;
  for (const DecisionRecord& d : batch) {
    insert->bind_static(kDetailColumn, d.detail_json);
    const DecisionRecord::Seal& seal = d.seal;
    int rc = SQLITE_OK;
    if (seal.seq == head->seq + 1 && seal.run_id == run_id && seal.prev == head->hash) {
      // Sealed from this very head: the sealer checked the record and hashed these columns.
      BindingWriter w{*insert};
      w.integer(seal.seq);
      write_decision(w, run_id, d, seal.scores, d.detail_hash);
      rc = insert_chained(*insert, w.i + 1, *head, seal.seq, seal.hash);
    } else {
      if (auto why = misfit(run_id, is_signal, d)) return *why;
      scores.clear();
      pairs_json(scores, d.scores);
      if (d.detail_hash.empty()) detail_hash = detail::to_hex(m.sha.digest(d.detail_json));
      const std::string& committed = d.detail_hash.empty() ? detail_hash : d.detail_hash;
      // Every text bound here outlives the step in append(): no copies into SQLite.
      rc = append(m, *insert, *head, detail::kDecision, [&](RecordWriter& w) {
        write_decision(w, run_id, d, scores, committed);
      });
    }
    if (rc == SQLITE_CONSTRAINT_UNIQUE) {
      return Error{"run " + std::to_string(run_id) + " already has a decision for input " +
                   std::to_string(d.input_index)};
    }
    if (rc != SQLITE_DONE) return m.error("cannot append a decision");
  }
  Status committed = txn->commit();
  // Started after a commit: by then the WAL is open, and the appends are a bulk.
  if (committed && !m.writeback) m.writeback = std::make_unique<detail::Writeback>(m.db, m.path);
  return committed;
}

Status Store::finish_run(int64_t run_id, uint64_t read, uint64_t decided,
                         const std::vector<RejectRecord>& rejects) {
  Impl& m = *impl_;
  m.writeback.reset();  // the bulk is over
  auto now = detail::now_iso();
  if (!now) return now.error();
  auto txn = Transaction::begin(m);
  if (!txn) return txn.error();
  auto state = run_state(m, run_id);
  if (!state) return state.error();
  if (*state == RunState::kMissing) return no_run(run_id);
  if (*state == RunState::kFinished)
    return Error{"run " + std::to_string(run_id) + " is already finished"};
  auto stored = one_row(
      m, "SELECT count(*) FROM decisions WHERE run_id = ?", [&](Query& q) { q.bind(1, run_id); },
      [](Query& q) { return q.integer(0); });
  if (!stored) return stored.error();
  // "Never zero, never two": the run must hold exactly the decisions the caller made.
  if (static_cast<uint64_t>(stored->value_or(0)) != decided) {
    return Error{"run " + std::to_string(run_id) + " has " + std::to_string(stored->value_or(0)) +
                 " decisions stored but " + std::to_string(decided) + " were reported decided"};
  }
  // Every case read was decided or rejected, once: counts that do not add up would be a
  // run summary no one could check against its input.
  if (decided + rejects.size() != read) {
    return Error{"run " + std::to_string(run_id) + ": " + std::to_string(read) + " cases read, but " +
                 std::to_string(decided) + " decided and " + std::to_string(rejects.size()) +
                 " rejected"};
  }
  auto head = detail::read_head(m);
  if (!head) return head.error();
  const std::string head_hash = detail::to_hex(head->hash);
  Status s = append_one(m, *head, detail::kRunEnd, [&](RecordWriter& w) {
    w.integer(run_id);
    w.integer(static_cast<int64_t>(read));
    w.integer(static_cast<int64_t>(decided));
    w.integer(static_cast<int64_t>(rejects.size()));
    w.text(rejects_json(rejects));
    w.text(*now);
    w.text(head_hash);
  });
  if (!s) return s;
  return txn->commit();
}

Result<std::vector<RunSummary>> Store::runs() {
  Impl& m = *impl_;
  auto q = m.query(std::string(kRunColumns) + " ORDER BY r.id");
  if (!q) return q.error();
  std::vector<RunSummary> out;
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) {
    if (Status s = read_run(m, *q, out.emplace_back()); !s) return s.error();
  }
  if (rc != SQLITE_DONE) return m.error("cannot list runs");
  return out;
}

Result<StoredDecision> Store::decision(const std::string& case_key, std::optional<int64_t> run_id) {
  Impl& m = *impl_;
  auto found = find_decision(m, case_key, run_id);
  if (!found) return found.error();
  if (!found->has_value()) return no_decision(case_key, run_id);
  StoredDecision out;
  out.seq = (*found)->first;
  auto run = load_run(m, (*found)->second, out.seq, case_key);
  if (!run) return run.error();
  out.run = std::move(*run);
  auto layout = run_layout(m, out.run.run_id,
                           "decision #" + std::to_string(out.seq) + " (case " + case_key + ")");
  if (!layout) return layout.error();
  {
    auto q = m.query(std::string("SELECT ") + kDecisionColumns + " WHERE d.seq = ?");
    if (!q) return q.error();
    q->bind(1, out.seq);
    if (q->step() != SQLITE_ROW) return m.error("cannot read decision #" + std::to_string(out.seq));
    if (Status s = read_decision(m, *q, *layout, out.decision); !s) return s.error();
  }
  out.detail_layout = std::move(layout->detail_layout);

  auto params = one_row(
      m, "SELECT params FROM runs WHERE id = ?", [&](Query& q) { q.bind(1, out.run.run_id); },
      [](Query& q) { return q.text(0); });
  if (!params) return params.error();
  if (!read_pairs(params->value_or("[]"), out.params))
    return damaged(m, "run " + std::to_string(out.run.run_id), "params");

  auto ruleset = one_row(
      m, "SELECT path, source, sha256, crible_version FROM rulesets WHERE id = ?",
      [&](Query& q) { q.bind(1, out.run.ruleset_id); },
      [](Query& q) {
        return RulesetVersion{q.text(0), q.text(1), q.text(2), q.text(3)};
      });
  if (!ruleset) return ruleset.error();
  if (!ruleset->has_value())
    return Error{"audit store " + m.path + ": ruleset " + std::to_string(out.run.ruleset_id) +
                 " is missing; run `crible audit verify`"};
  out.ruleset = std::move(**ruleset);

  {
    auto q = m.query(
        "SELECT run_id, decision_seq, case_key, disposition, previous, who, why, at "
        "FROM overrides WHERE decision_seq = ? ORDER BY seq");
    if (!q) return q.error();
    q->bind(1, out.seq);
    int rc;
    while ((rc = q->step()) == SQLITE_ROW) {
      out.overrides.push_back(OverrideRecord{q->integer(0), q->integer(1), q->text(2), q->text(3),
                                             q->text(4), q->text(5), q->text(6), q->text(7)});
    }
    if (rc != SQLITE_DONE) return m.error("cannot read overrides");
  }

  auto erased = one_row(
      m,
      "SELECT e.at, e.who, e.why FROM erasures e, json_each(e.decisions) j "
      "WHERE e.case_key = ? AND j.value = ? ORDER BY e.seq LIMIT 1",
      [&](Query& q) {
        q.bind(1, case_key);
        q.bind(2, out.seq);
      },
      [](Query& q) { return "on " + q.text(0) + " by " + q.text(1) + ": " + q.text(2); });
  if (!erased) {
    // json_each() fails on a list of decisions that is not JSON.
    return Error{"audit store " + m.path + ": an erasure record about case " + case_key +
                 " has a malformed decisions column; run `crible audit verify`"};
  }
  out.erased = std::move(*erased);
  return out;
}

Result<std::vector<DecisionRecord>> Store::decisions(int64_t run_id) {
  std::vector<DecisionRecord> out;
  Status s = for_each_decision(run_id, [&](const DecisionRecord& d) {
    out.push_back(d);
    return ok_status();
  });
  if (!s) return s.error();
  return out;
}

Result<std::string> Store::detail_layout(int64_t run_id) {
  auto layout = run_layout(*impl_, run_id);
  if (!layout) return layout.error();
  return std::move(layout->detail_layout);
}

Status Store::for_each_decision(int64_t run_id,
                                const std::function<Status(const DecisionRecord&)>& each,
                                bool brief) {
  Impl& m = *impl_;
  auto state = run_state(m, run_id);
  if (!state) return state.error();
  if (*state == RunState::kMissing) return no_run(run_id);
  auto layout = run_layout(m, run_id);
  if (!layout) return layout.error();
  auto q = m.query(std::string("SELECT ") + kDecisionColumns +
                   " WHERE d.run_id = ? ORDER BY d.input_index");
  if (!q) return q.error();
  q->bind(1, run_id);
  DecisionRecord d;
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) {
    if (Status s = read_decision(m, *q, *layout, d, brief); !s) return s;
    if (Status s = each(d); !s) return s;
  }
  if (rc != SQLITE_DONE)
    return m.error("cannot read the decisions of run " + std::to_string(run_id));
  return ok_status();
}

Result<OverrideRecord> Store::add_override(const std::string& case_key,
                                           std::optional<int64_t> run_id,
                                           const std::string& disposition, const std::string& by,
                                           const std::string& reason) {
  // Who and why are the point of an override: an anonymous or unexplained one is refused.
  if (disposition.empty()) return Error{"an override needs the new disposition"};
  if (by.empty()) return Error{"an override needs the name of the person who makes it"};
  if (reason.empty()) return Error{"an override needs a reason"};
  Impl& m = *impl_;
  auto now = detail::now_iso();
  if (!now) return now.error();
  auto txn = Transaction::begin(m);
  if (!txn) return txn.error();
  auto found = find_decision(m, case_key, run_id);
  if (!found) return found.error();
  if (!found->has_value()) return no_decision(case_key, run_id);
  // Not a structured binding: clang before 16 (the fuzzers' compiler) cannot capture one.
  const int64_t decision_seq = (*found)->first;
  const int64_t decided_run = (*found)->second;
  // Not on a decision of a damaged store: an override must refer to a run one can read.
  auto run = run_state(m, decided_run);
  if (!run) return run.error();
  if (*run == RunState::kMissing)
    return run_of_decision_missing(m, decided_run, decision_seq, case_key);

  // The disposition in force: the last override's, else the decision's own.
  auto previous = one_row(
      m,
      "SELECT coalesce((SELECT disposition FROM overrides WHERE decision_seq = ?1 "
      "ORDER BY seq DESC LIMIT 1), (SELECT disposition FROM decisions WHERE seq = ?1))",
      [&](Query& q) { q.bind(1, decision_seq); }, [](Query& q) { return q.text(0); });
  if (!previous) return previous.error();

  OverrideRecord r{decided_run, decision_seq, case_key, disposition, previous->value_or(""),
                   by,          reason,       *now};
  auto head = detail::read_head(m);
  if (!head) return head.error();
  Status s = append_one(m, *head, detail::kOverride, [&](RecordWriter& w) {
    w.integer(r.decision_seq);
    w.integer(r.run_id);
    w.text(r.case_key);
    w.text(r.disposition);
    w.text(r.previous);
    w.text(r.by);
    w.text(r.reason);
    w.text(r.at);
  });
  if (!s) return s.error();
  if (Status c = txn->commit(); !c) return c.error();
  return r;
}

Result<uint64_t> Store::erase(const std::string& case_key, const std::string& by,
                              const std::string& reason) {
  if (by.empty()) return Error{"an erasure needs the name of the person who makes it"};
  if (reason.empty()) return Error{"an erasure needs a reason"};
  Impl& m = *impl_;
  auto now = detail::now_iso();
  if (!now) return now.error();
  auto txn = Transaction::begin(m);
  if (!txn) return txn.error();
  std::vector<int64_t> seqs;
  bool any = false;
  {
    auto q = m.query(
        "SELECT seq, detail IS NOT NULL FROM decisions WHERE case_key = ? ORDER BY seq");
    if (!q) return q.error();
    q->bind(1, case_key);
    int rc;
    while ((rc = q->step()) == SQLITE_ROW) {
      any = true;
      if (q->integer(1)) seqs.push_back(q->integer(0));
    }
    if (rc != SQLITE_DONE) return m.error("cannot find the decisions about case " + case_key);
  }
  if (!any) return no_decision(case_key, std::nullopt);
  if (seqs.empty()) return uint64_t{0};

  // The erasure record first: the trigger on decisions lets a detail become NULL only under
  // an erasure record that lists its decision.
  auto head = detail::read_head(m);
  if (!head) return head.error();
  Status s = append_one(m, *head, detail::kErasure, [&](RecordWriter& w) {
    w.text(case_key);
    w.text(seqs_json(seqs));
    w.text(by);
    w.text(reason);
    w.text(*now);
  });
  if (!s) return s.error();
  auto clear = m.query("UPDATE decisions SET detail = NULL WHERE seq = ?");
  if (!clear) return clear.error();
  for (int64_t seq : seqs) {
    clear->bind(1, seq);
    const int rc = clear->step();
    clear->reset();
    if (rc != SQLITE_DONE)
      return m.error("cannot erase the detail of decision #" + std::to_string(seq));
  }
  if (Status c = txn->commit(); !c) return c.error();
  // Older copies of the pages may sit in the write-ahead log: truncate it. Best effort (a
  // concurrent reader can hold the log); the next checkpoint overwrites them anyway.
  sqlite3_exec(m.db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  return static_cast<uint64_t>(seqs.size());
}

void hash_detail(DecisionRecord& d) {
  detail::Sha256& sha = thread_scratch<detail::Sha256>();
  const detail::Digest h = sha.digest(d.detail_json);
  static constexpr char kHex[] = "0123456789abcdef";
  d.detail_hash.resize(2 * h.size());  // in place: records are reused
  for (size_t i = 0; i < h.size(); ++i) {
    d.detail_hash[2 * i] = kHex[h[i] >> 4];
    d.detail_hash[2 * i + 1] = kHex[h[i] & 15];
  }
}

}  // namespace crible::audit
