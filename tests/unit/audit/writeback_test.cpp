// The write-back helper reaches SQLite's own descriptors of the store's files: if a SQLite
// upgrade moved them, it would silently stop helping (review would only get slower), so the
// test pins down that both files are found, and that nothing else is ever used.
#include "audit/detail/writeback.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>

#include "unit/audit/audit_test_util.h"

namespace crible::audit {
namespace {

bool same_file(int fd, const std::string& path) {
  struct stat a {}, b {};
  return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

void exec(sqlite3* db, const char* sql) {
  BOOST_REQUIRE_MESSAGE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK,
                        sqlite3_errmsg(db));
}

BOOST_AUTO_TEST_SUITE(audit_writeback)

BOOST_AUTO_TEST_CASE(finds_the_database_file_and_its_wal) {
  test::TempDir dir;
  const std::string path = dir.file("store.sqlite");
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE t(x); INSERT INTO t VALUES (randomblob(100000));");
  {
    detail::Writeback writeback(db, path);
    const std::vector<int>& fds = writeback.descriptors();
    BOOST_REQUIRE_EQUAL(fds.size(), 2u);
    BOOST_TEST(same_file(fds[0], path));
    BOOST_TEST(same_file(fds[1], path + "-wal"));
    exec(db, "INSERT INTO t VALUES (randomblob(100000));");  // writes while it runs
  }
  sqlite3_close(db);
}

BOOST_AUTO_TEST_CASE(does_nothing_without_files) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(":memory:", &db) == SQLITE_OK);
  exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
  {
    detail::Writeback writeback(db, ":memory:");
    BOOST_TEST(writeback.descriptors().empty());
  }
  sqlite3_close(db);
}

BOOST_AUTO_TEST_CASE(a_descriptor_of_another_file_is_not_used) {
  // Given the wrong path, the connection's descriptors are not that file's: none is used.
  test::TempDir dir;
  const std::string path = dir.file("store.sqlite");
  const std::string other = dir.file("other.sqlite");
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1);");
  sqlite3* db2 = nullptr;
  BOOST_REQUIRE(sqlite3_open(other.c_str(), &db2) == SQLITE_OK);
  exec(db2, "PRAGMA journal_mode = WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1);");
  {
    detail::Writeback writeback(db, other);
    BOOST_TEST(writeback.descriptors().empty());
  }
  sqlite3_close(db2);
  sqlite3_close(db);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible::audit
