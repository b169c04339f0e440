// The inside of audit::Store, shared by store.cpp (writing and reading) and verify.cpp:
// the SQLite connection with its cache of prepared statements, a statement guard, the
// write transaction, and the table of chained record kinds that fixes their column order.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "audit/audit.h"
#include "audit/detail/canonical.h"
#include "audit/detail/writeback.h"

namespace crible::audit::detail {

// One kind of chained record: its table and its columns in canonical order (seq first).
// The INSERT that appends it and the SELECT that verify() re-encodes it with are both
// generated from `columns`, so the two cannot drift apart. Every chained table also has a
// `hash` column (the record's chain hash, 32 bytes, not itself hashed), after `columns` in
// both statements; decisions have their personal `detail` after that (beside the chain:
// committed to by detail_hash, not hashed directly, so that it can be erased).
struct Kind {
  const char* name;  // the first field hashed; names the record in verify's messages
  const char* table;
  const char* columns;  // comma-separated, as written in SQL
  bool has_detail = false;
};

inline constexpr Kind kRuleset{"ruleset", "rulesets",
                               "seq, id, path, source, sha256, crible_version, stored_at"};
inline constexpr Kind kRun{"run", "runs",
                           "seq, id, ruleset_id, params, inputs, as_of, command, fingerprint, "
                           "started_at, findings, detail_layout"};
inline constexpr Kind kDecision{"decision", "decisions",
                                "seq, run_id, input_index, case_key, disposition, "
                                "disposition_rule, scores, fired, findings, detail_hash",
                                true};
inline constexpr Kind kRunEnd{"run_end", "run_ends",
                              "seq, run_id, read, decided, rejected, rejects, finished_at, "
                              "head_hash"};
inline constexpr Kind kOverride{"override", "overrides",
                                "seq, decision_seq, run_id, case_key, disposition, previous, "
                                "who, why, at"};
inline constexpr Kind kErasure{"erasure", "erasures", "seq, case_key, decisions, who, why, at"};
inline constexpr const Kind* kKinds[] = {&kRuleset, &kRun,      &kDecision,
                                         &kRunEnd,  &kOverride, &kErasure};

// The number of `columns`: the chain hash is bound (or read) at column_count + 1, a
// decision's detail at column_count + 2.
int column_count(const Kind& kind);
std::string insert_sql(const Kind& kind);
std::string select_sql(const Kind& kind);  // every row, in seq order

// A prepared statement borrowed from the cache for one use: reset (and its bindings cleared)
// when the guard goes out of scope, so that no statement keeps a read transaction open.
class Query {
 public:
  explicit Query(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Query(Query&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Query& operator=(Query&&) = delete;
  ~Query() {
    if (stmt_) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }

  void bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void bind(int i, std::string_view s) {
    sqlite3_bind_text64(stmt_, i, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  // For large values in the hot path: no copy, so `s` must outlive the next step().
  void bind_static(int i, std::string_view s) {
    sqlite3_bind_text64(stmt_, i, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8);
  }
  void bind_blob(int i, const unsigned char* p, size_t n) {
    sqlite3_bind_blob64(stmt_, i, p, n, SQLITE_TRANSIENT);
  }
  int step() { return sqlite3_step(stmt_); }  // SQLITE_ROW, SQLITE_DONE or an error
  void reset() { sqlite3_reset(stmt_); }      // for the next step in a loop of inserts
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : "";
  }
  // Valid until the next step or reset: for comparing and hashing without a copy.
  std::string_view view(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string_view();
  }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  bool is_integer(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_INTEGER; }
  // A BLOB column's bytes, valid like view(); empty for any other type.
  std::string_view blob(int col) const {
    if (sqlite3_column_type(stmt_, col) != SQLITE_BLOB) return {};
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string_view();
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

// Binds the columns of a chained record to its INSERT and appends them, in the same order,
// to the record's canonical bytes: what is hashed is exactly what is stored.
class RecordWriter {
 public:
  RecordWriter(Query& q, Canonical& c) : q_(q), c_(c) {}
  void integer(int64_t v) {
    q_.bind(++i_, v);
    c_.integer(v);
  }
  void text(std::string_view s) {
    q_.bind(++i_, s);
    c_.text(s);
  }
  // text() without SQLite's copy, for the hot path: `s` must outlive the insert's step().
  void text_kept(std::string_view s) {
    q_.bind_static(++i_, s);
    c_.text(s);
  }
  int bound() const { return i_; }

 private:
  Query& q_;
  Canonical& c_;
  int i_ = 0;
};

// The connection and its caches; StoreImpl is this, named so that the helpers here and in
// the .cpp files can take it without being members of Store.
struct StoreImpl {
  sqlite3* db = nullptr;
  std::string path;
  OpenOptions options;
  std::unordered_map<std::string, sqlite3_stmt*> statements;
  detail::Sha256 sha;
  detail::Canonical canonical;  // reused by appends
  // While decisions are appended in bulk (from the first append_decisions to finish_run):
  // the disk is started on the store's files ahead of SQLite's fsyncs (writeback.h).
  std::unique_ptr<detail::Writeback> writeback;

  ~StoreImpl();
  // The cached statement for `sql`, prepared on first use.
  Result<detail::Query> query(const std::string& sql);
  // "audit store PATH: <what>: <sqlite message>"
  Error error(std::string_view what) const;
  Status exec(const char* sql);
};

// The chain's last record (the highest seq over the chained tables), read inside the write
// transaction that appends after it.
struct Head {
  int64_t seq = 0;  // 0 for an empty chain
  Digest hash{};    // 32 zero bytes for an empty chain
};

// BEGIN IMMEDIATE: takes the store's write lock at once (waiting up to the busy timeout for
// another writer), so that the head read next cannot change before this commit. Rolls back
// when dropped uncommitted, which is every early return on an error.
class Transaction {
 public:
  static Result<Transaction> begin(StoreImpl& impl);
  Transaction(Transaction&& other) noexcept : impl_(other.impl_) { other.impl_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(StoreImpl* impl) : impl_(impl) {}
  StoreImpl* impl_;
};

Result<Head> read_head(StoreImpl& impl);

}  // namespace crible::audit::detail

namespace crible::audit {
struct Store::Impl : detail::StoreImpl {};
}  // namespace crible::audit
