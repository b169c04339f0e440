// Store::verify(): recomputes the whole hash chain from the stored columns, in seq order over
// all the chained tables, trusting none of the stored hashes, and names the first record that
// does not check out.
// It reads the tables directly, so it sees edits made with the sqlite3 shell after the
// protective triggers were dropped, rows deleted, inserted or reordered, a changed ruleset
// text and a changed or removed personal detail.
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "audit/audit.h"
#include "audit/detail/canonical.h"
#include "audit/detail/store_impl.h"

namespace crible::audit {

using detail::Canonical;
using detail::Kind;
using detail::Query;
using detail::StoreImpl;

namespace {

// One chained table read in seq order; the chain is their merge by seq.
struct Cursor {
  const Kind* kind = nullptr;
  const char* table = nullptr;
  std::optional<Query> q;
  bool row = false;
  int64_t seq = 0;
  int rc = SQLITE_OK;

  bool advance() {
    rc = q->step();
    row = rc == SQLITE_ROW;
    if (row) seq = q->integer(0);
    return row || rc == SQLITE_DONE;
  }
};

// The record as stored (its first n columns), encoded by the types SQLite holds
// (see canonical.h).
void encode_row(Canonical& c, const char* kind, sqlite3_stmt* st, int n) {
  c.start(kind);
  for (int i = 0; i < n; ++i) {
    switch (sqlite3_column_type(st, i)) {
      case SQLITE_INTEGER:
        c.integer(sqlite3_column_int64(st, i));
        break;
      case SQLITE_FLOAT:
        c.real(sqlite3_column_double(st, i));
        break;
      case SQLITE_TEXT: {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
        c.text(std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(st, i))));
        break;
      }
      case SQLITE_BLOB: {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(st, i));
        const auto n_bytes = static_cast<size_t>(sqlite3_column_bytes(st, i));
        c.blob(n_bytes ? std::string_view(p, n_bytes) : std::string_view());
        break;
      }
      default:
        c.null();
    }
  }
}

// "record #12 (decision, run 2, case AVR0000042)", from the columns as they are now.
std::string describe(const Kind& kind, const Query& q, int64_t seq) {
  std::string out = "record #" + std::to_string(seq) + " (" + kind.name;
  if (&kind == &detail::kRuleset) {
    out += " " + std::to_string(q.integer(1));
  } else if (&kind == &detail::kRun) {
    out += ", run " + std::to_string(q.integer(1));
  } else if (&kind == &detail::kDecision) {
    out += ", run " + std::to_string(q.integer(1)) + ", case " + q.text(3);
  } else if (&kind == &detail::kRunEnd) {
    out += ", run " + std::to_string(q.integer(1));
  } else if (&kind == &detail::kOverride) {
    out += ", run " + std::to_string(q.integer(2)) + ", case " + q.text(3);
  } else if (&kind == &detail::kErasure) {
    out += ", case " + q.text(1);
  }
  return out + ")";
}

struct Erasure {
  int64_t seq = 0;
  std::string case_key;
};

std::vector<std::string> expected_triggers() {
  std::vector<std::string> out = {"decisions_no_delete", "decisions_erase_only"};
  for (const char* t : {"meta", "rulesets", "runs", "run_ends", "overrides", "erasures"}) {
    out.push_back(std::string(t) + "_no_update");
    out.push_back(std::string(t) + "_no_delete");
  }
  return out;
}

// An index holds no record, but without decisions_by_run_input nothing stops a second
// decision for the same input, and the others make lookups slow.
std::vector<std::string> expected_indexes() {
  return {"runs_by_fingerprint", "decisions_by_run_input", "decisions_by_case_run",
          "overrides_by_decision", "erasures_by_case"};
}

// A warning for each of `expected` that the schema holds no `type` ('trigger', 'index') of,
// `shown` naming the kind in the message.
Status warn_of_missing(StoreImpl& m, const char* type, const char* shown,
                       const std::vector<std::string>& expected,
                       std::vector<std::string>& warnings) {
  std::set<std::string> present;
  auto q = m.query(std::string("SELECT name FROM sqlite_schema WHERE type = '") + type + "'");
  if (!q) return q.error();
  while (q->step() == SQLITE_ROW) present.insert(q->text(0));
  for (const std::string& name : expected) {
    if (!present.count(name))
      warnings.push_back(std::string(shown) + " " + name +
                         " is missing: the store was altered outside crible");
  }
  return ok_status();
}

// Ends the read transaction that gives verify() one consistent snapshot.
struct ReadTransaction {
  sqlite3* db;
  ~ReadTransaction() { sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr); }
};

}  // namespace

Result<VerifyReport> Store::verify() {
  Impl& m = *impl_;
  VerifyReport report;
  const auto broken = [&](std::string what) -> Result<VerifyReport> {
    report.intact = false;
    report.first_broken = std::move(what);
    return report;
  };
  // A statement that cannot even be prepared means a table or column was dropped or renamed.
  const auto unreadable = [&](const std::string& table) {
    return broken("table " + table + " is missing or altered: " + sqlite3_errmsg(m.db));
  };

  if (Status s = m.exec("BEGIN"); !s) return s.error();
  ReadTransaction read_txn{m.db};

  if (Status s = warn_of_missing(m, "trigger", "protective trigger", expected_triggers(),
                                 report.warnings);
      !s)
    return s.error();
  if (Status s = warn_of_missing(m, "index", "index", expected_indexes(), report.warnings); !s)
    return s.error();

  // Which decisions each erasure covers. Read ahead of the chain because an erasure comes
  // after the decisions it covers; the erasure records themselves are checked in the pass,
  // so an edited list is caught there even when it makes an earlier decision look covered.
  std::unordered_map<int64_t, Erasure> erased_by;  // decision seq -> erasure
  {
    auto q = m.query("SELECT seq, case_key, decisions FROM erasures");
    if (!q) return unreadable("erasures");
    while (q->step() == SQLITE_ROW) {
      const auto list = nlohmann::json::parse(q->text(2), nullptr, /*allow_exceptions=*/false);
      if (!list.is_array()) continue;  // the pass reports this record as altered
      for (const auto& d : list)
        if (d.is_number_integer()) erased_by[d.get<int64_t>()] = {q->integer(0), q->text(1)};
    }
  }

  std::vector<Cursor> cursors;
  for (const Kind* kind : detail::kKinds) {
    auto q = m.query(detail::select_sql(*kind));
    if (!q) return unreadable(kind->table);
    Cursor& c = cursors.emplace_back();
    c.kind = kind;
    c.table = kind->table;
    c.q.emplace(std::move(*q));
    if (!c.advance()) return m.error(std::string("cannot read ") + kind->table);
  }

  Canonical canonical;
  detail::Digest prev{};
  int64_t expected = 1;
  std::unordered_map<int64_t, int64_t> decided;  // run id -> decisions seen so far
  std::set<int64_t> finished;                    // run ids with a run_end seen
  std::set<int64_t> rulesets;                    // ruleset ids seen
  std::vector<bool> is_decision(1, false);       // by seq

  for (;;) {
    // The next record of the chain: the lowest seq not yet read, in whichever table.
    Cursor* cur = nullptr;
    for (Cursor& c : cursors) {
      if (!c.row) continue;
      if (cur && c.seq == cur->seq) {
        return broken("record #" + std::to_string(c.seq) + " appears twice: in table " +
                      cur->table + " and in table " + c.table);
      }
      if (!cur || c.seq < cur->seq) cur = &c;
    }
    if (!cur) break;
    const int64_t seq = cur->seq;
    if (seq < 1) {
      return broken("table " + std::string(cur->table) + " holds a record numbered #" +
                    std::to_string(seq) + ": the chain starts at #1");
    }
    if (seq != expected) {
      return broken("record #" + std::to_string(expected) + " is missing: the chain goes from #" +
                    std::to_string(expected - 1) + " to #" + std::to_string(seq));
    }
    const Kind& kind = *cur->kind;
    const Query& row = *cur->q;
    const int columns = detail::column_count(kind);
    // Named only when something is wrong: building the text for every record would cost
    // more than checking it.
    const auto what = [&] { return describe(kind, row, seq); };

    encode_row(canonical, kind.name, row.get(), columns);
    const detail::Digest hash = m.sha.chain(prev, canonical.bytes());
    const std::string_view stored = row.blob(columns);
    if (stored != std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size())) {
      if (&kind == &detail::kRuleset && detail::to_hex(m.sha.digest(row.text(3))) != row.text(4))
        return broken(what() +
                      ": its source text does not match its sha256 (the ruleset was changed)");
      return broken(what() + ": its content does not match its hash (edited, replaced or moved)");
    }

    // The record is as chained; now what it says must agree with the rest of the chain.
    if (&kind == &detail::kRuleset) {
      if (detail::to_hex(m.sha.digest(row.text(3))) != row.text(4))
        return broken(what() + ": its source text does not match its sha256");
      rulesets.insert(row.integer(1));
    } else if (&kind == &detail::kRun) {
      if (!rulesets.count(row.integer(2)))
        return broken(what() + ": its ruleset " + std::to_string(row.integer(2)) +
                      " is not stored before it");
      decided.emplace(row.integer(1), 0);
    } else if (&kind == &detail::kDecision) {
      const int64_t run = row.integer(1);
      const auto it = decided.find(run);
      if (it == decided.end()) return broken(what() + ": its run has no earlier start record");
      if (finished.count(run)) return broken(what() + ": it was appended after its run finished");
      ++it->second;
      // The personal detail beside the chain.
      const int detail_column = columns + 1;
      // An empty detail reads as an erased one (Store::decision): missing, as NULL is.
      const bool present = !row.is_null(detail_column) && !row.view(detail_column).empty();
      const auto erasure = erased_by.find(seq);
      const bool covered = erasure != erased_by.end() && erasure->second.seq > seq &&
                           erasure->second.case_key == row.view(3);
      if (present) {
        if (detail::to_hex(m.sha.digest(row.view(detail_column))) != row.view(9))
          return broken(
              what() +
              ": its personal detail does not match its detail_hash (the detail was changed)");
        if (covered)
          return broken(what() + ": its personal detail is present although erasure #" +
                        std::to_string(erasure->second.seq) + " erased it");
      } else if (!covered) {
        return broken(what() + ": its personal detail is missing and no erasure record covers it");
      }
    } else if (&kind == &detail::kRunEnd) {
      const int64_t run = row.integer(1);
      const auto it = decided.find(run);
      if (it == decided.end()) return broken(what() + ": its run has no earlier start record");
      if (!finished.insert(run).second) return broken(what() + ": the run had already finished");
      if (row.view(7) != detail::to_hex(prev))
        return broken(what() + ": its head hash is not the hash of the record before it");
      if (row.integer(3) != it->second) {
        return broken(what() + ": it counts " + std::to_string(row.integer(3)) +
                      " decisions but the chain holds " + std::to_string(it->second));
      }
    } else if (&kind == &detail::kOverride) {
      const int64_t target = row.integer(1);
      if (target <= 0 || target >= seq || !is_decision[static_cast<size_t>(target)])
        return broken(what() + ": it overrides #" + std::to_string(target) +
                      ", not an earlier decision");
    }

    is_decision.push_back(&kind == &detail::kDecision);
    prev = hash;
    ++expected;
    ++report.records;
    if (!cur->advance()) return m.error(std::string("cannot read ") + cur->table);
  }
  report.head_hash = detail::to_hex(prev);
  return report;
}

}  // namespace crible::audit
