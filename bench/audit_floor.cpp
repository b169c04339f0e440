// The floor of the audit store: inserts N decision rows with the same columns, indexes,
// journal mode, batching and write-back (engine/audit/detail/writeback.h) as crible's store
// (schema 3), but no hash chain and no evaluation: the two hash columns hold a constant.
// What `crible review` costs above this is the price of evaluation, evidence and the chain.
// Usage: audit_floor N STORE.sqlite [FINDINGS_BYTES DETAIL_BYTES]
// The two sizes are those of a decision's findings and detail columns; bench/run.sh passes the
// averages of the store that `crible review` just wrote, so that both write the same bytes.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "audit/detail/writeback.h"

namespace {

bool exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "audit_floor: %s\n", err ? err : "sqlite error");
    sqlite3_free(err);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 5) {
    std::fprintf(stderr, "usage: audit_floor N STORE.sqlite [FINDINGS_BYTES DETAIL_BYTES]\n");
    return 2;
  }
  const long n = std::atol(argv[1]);
  std::remove(argv[2]);
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);  // as crible's store does
  sqlite3* db = nullptr;
  if (sqlite3_open(argv[2], &db) != SQLITE_OK) return 3;
  const char* schema =
      "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
      "CREATE TABLE decisions(seq INTEGER PRIMARY KEY, run_id INTEGER NOT NULL,"
      " input_index INTEGER NOT NULL, case_key TEXT NOT NULL, disposition TEXT NOT NULL,"
      " disposition_rule TEXT NOT NULL, scores TEXT NOT NULL, fired TEXT NOT NULL,"
      " findings TEXT NOT NULL, detail_hash TEXT NOT NULL, hash BLOB NOT NULL, detail TEXT)"
      " STRICT;"
      "CREATE UNIQUE INDEX decisions_by_run_input ON decisions(run_id, input_index);"
      "CREATE INDEX decisions_by_case_run ON decisions(case_key, run_id);";
  if (!exec(db, schema)) return 3;
  // By default, payloads of the sizes crible writes for the reference ruleset (schema 2).
  const std::string findings(argc == 5 ? std::strtoul(argv[3], nullptr, 10) : 15, 'f');
  const std::string detail(argc == 5 ? std::strtoul(argv[4], nullptr, 10) : 600, 'd');
  const std::string detail_hash(64, 'a');
  const unsigned char hash[32] = {0x5a};
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO decisions VALUES(?,?,?,?,?,?,?,?,?,?,?,?)", -1, &ins,
                     nullptr);
  auto started = std::chrono::steady_clock::now();
  constexpr long kBatch = 2500;  // as crible's review (engine/review/review.cpp)
  char key[32];
  std::unique_ptr<crible::audit::detail::Writeback> writeback;  // from the first commit, as the store
  for (long i = 0; i < n; ++i) {
    if (i % kBatch == 0 && !exec(db, "BEGIN IMMEDIATE")) return 3;
    std::snprintf(key, sizeof key, "AVR%07ld", i + 1);
    sqlite3_bind_int64(ins, 1, i + 1);
    sqlite3_bind_int64(ins, 2, 1);
    sqlite3_bind_int64(ins, 3, i);
    sqlite3_bind_text(ins, 4, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 5, "APPROVE", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 6, "6: APPROVE otherwise", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 7, "[[\"risk\",\"0\"],[\"priority\",\"0\"]]", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 8, "", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 9, findings.c_str(), static_cast<int>(findings.size()), SQLITE_STATIC);
    sqlite3_bind_text(ins, 10, detail_hash.c_str(), 64, SQLITE_STATIC);
    sqlite3_bind_blob(ins, 11, hash, sizeof hash, SQLITE_STATIC);
    sqlite3_bind_text(ins, 12, detail.c_str(), static_cast<int>(detail.size()), SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE) return 3;
    sqlite3_reset(ins);
    if ((i + 1) % kBatch == 0 || i + 1 == n) {
      if (!exec(db, "COMMIT")) return 3;
      if (!writeback) writeback = std::make_unique<crible::audit::detail::Writeback>(db, argv[2]);
    }
  }
  writeback.reset();
  sqlite3_finalize(ins);
  sqlite3_close(db);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("inserted %ld decisions in %.3f s\n", n, s);
  return 0;
}
