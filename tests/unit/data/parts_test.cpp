// tests/unit/data/parts_test.cpp: a text loaded in parts side by side (LoadOptions::threads)
// gives exactly what one pass gives: the same rows, lines, rejects and reasons, columns and
// interned ids. One pass is the oracle; the texts are generated from seeds, with everything
// that makes a cut hard: duplicate keys within and across parts, quoted line ends (a cut may
// fall inside a field), a quote left open to the end, empty lines, CRLF, doubled quotes,
// rejects of every stage, enum values first met late, sets whose ids a join reorders.
#include <boost/test/unit_test.hpp>
#include <random>
#include <string>
#include <vector>

#include "base/threads.h"
#include "data/data.h"
#include "support/column_decl.h"
#include "support/thread_refusal.h"

namespace crible::data {
namespace {

using testing::column;

Type one_of(std::vector<std::string> values, TypeKind kind = TypeKind::Text) {
  Type t = kind == TypeKind::Set ? Type::set_of(TypeKind::Text) : Type::of(TypeKind::Text);
  t.domain = std::make_shared<EnumDomain>(EnumDomain{std::move(values)});
  return t;
}

TableSchema schema(std::vector<int> key) {
  TableSchema s;
  s.name = "cases";
  s.columns = {column("case_id", Type::of(TypeKind::Text), true),
               column("phone", Type::of(TypeKind::Text)),
               column("day", Type::of(TypeKind::Date)),
               column("n", Type::of(TypeKind::Integer)),
               column("x", Type::of(TypeKind::Number)),
               column("ok", Type::of(TypeKind::Bool)),
               column("status", one_of({"registered", "pending", "suspended"}), true),
               column("langs", Type::set_of(TypeKind::Text)),
               column("vuln", one_of({"uasc", "vot", "medical"}, TypeKind::Set)),
               column("centre", Type::of(TypeKind::Text))};
  s.columns[7].format = "aaa";
  s.columns[8].blank_is_empty = true;
  s.key = std::move(key);
  return s;
}

// About `rows` records from `seed`. Keys repeat (some far apart), enum values and languages
// show up for the first time late in the text, and one record in a few hundred is broken.
std::string generated_text(uint32_t seed, int rows) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  const char* langs[] = {"fra", "bam", "wol", "ful", "eng", "snk", "mos", "hau"};
  const char* statuses[] = {"registered", "pending", "suspended"};
  const char* vulns[] = {"uasc", "vot", "medical"};
  const bool crlf = pick(4) == 0;
  const std::string eol = crlf ? "\r\n" : "\n";
  std::string t = "phone,case_id,day,n,x,ok,status,langs,vuln,centre,extra" + eol;
  for (int i = 0; i < rows; ++i) {
    const int late = i * 4 / rows;  // 0..3: later values become possible further on
    std::string id = "C" + std::to_string(pick(10) == 0 ? pick(i + 1) : i);  // ~10% repeats
    if (pick(50) == 0) id = "C0";
    std::string phone = pick(3) == 0 ? "" : "+223" + std::to_string(pick(5000));
    if (pick(40) == 0) phone = "\"+223" + eol + std::to_string(pick(99)) + "\"";  // a line end inside
    if (pick(60) == 0) phone = "\"+1 \"\"" + std::to_string(pick(30)) + "\"\"\"";  // unescaped
    if (pick(300) == 0) {  // a field running over many lines: a cut is likely to fall in it
      phone = "\"";
      for (int k = 0; k < 30; ++k) phone += "line " + std::to_string(k) + eol;
      phone += "\"";
    }
    std::string day = pick(5) == 0 ? "" : "2019-0" + std::to_string(1 + pick(9)) + "-" + std::to_string(10 + pick(19));
    std::string n = pick(6) == 0 ? "" : std::to_string(pick(2000) - 1000);
    std::string x = pick(6) == 0 ? "" : std::to_string(pick(100)) + "." + std::to_string(pick(10));
    std::string ok = pick(3) == 0 ? "" : (pick(2) ? "true" : "false");
    std::string status = statuses[pick(std::min(3, 1 + late))];
    std::string ls;
    for (int k = 0, m = pick(4); k < m; ++k) ls += (k ? ";" : "") + std::string(langs[pick(2 + 2 * late)]);
    std::string vs;
    for (int k = 0, m = pick(3); k < m; ++k) vs += (k ? ";" : "") + std::string(vulns[pick(1 + late % 3)]);
    std::string centre = "BKO-" + std::to_string(pick(3 + late * 5));
    switch (pick(200)) {  // one broken field now and then, at every stage of typing
      case 0: day = "2019-02-30"; break;
      case 1: n = "12a"; break;
      case 2: status = "closed"; break;
      case 3: ls = "fr"; break;
      case 4: ls = "fra;;bam"; break;
      case 5: id = ""; break;
      case 6: ok = "yes"; break;
      case 7: phone = "ab\"c"; break;
      default: break;
    }
    std::string row = phone + "," + id + "," + day + "," + n + "," + x + "," + ok + "," + status + "," +
                      (ls.find(';') != std::string::npos && pick(2) ? "\"" + ls + "\"" : ls) + "," + vs + "," +
                      centre + ",e";
    if (pick(150) == 0) row = id + ",too,few";
    t += row + eol;
    if (pick(100) == 0) t += eol;  // an empty line: not a record
  }
  switch (pick(3)) {
    case 0: t += "LAST,C-last,,,,,pending,,,BKO-0,e"; break;  // no line end at the end
    case 1: t += "\"+223" + eol + "never closed," + eol + "C-open" + eol; break;  // a quote left open
    default: break;
  }
  return t;
}

void check_same(const Table& parts, const Interner& pi, const Table& one, const Interner& oi) {
  BOOST_TEST(parts.rows == one.rows);
  BOOST_TEST(parts.read == one.read);
  BOOST_TEST(parts.row_line == one.row_line, boost::test_tools::per_element());
  BOOST_REQUIRE(parts.rejects.size() == one.rejects.size());
  for (size_t i = 0; i < one.rejects.size(); ++i) {
    BOOST_TEST_CONTEXT("reject " << i << " (line " << one.rejects[i].line << ")") {
      BOOST_TEST(parts.rejects[i].line == one.rejects[i].line);
      BOOST_TEST(parts.rejects[i].column == one.rejects[i].column);
      BOOST_TEST(parts.rejects[i].reason == one.rejects[i].reason);
    }
  }
  BOOST_REQUIRE(parts.columns.size() == one.columns.size());
  for (size_t c = 0; c < one.columns.size(); ++c)
    BOOST_TEST_CONTEXT("column " << c) BOOST_TEST((parts.columns[c] == one.columns[c]));
  BOOST_REQUIRE(pi.size() == oi.size());
  for (uint32_t id = 0; id < oi.size(); ++id) {
    if (pi.text(id) != oi.text(id)) {
      BOOST_TEST(pi.text(id) == oi.text(id), "id " << id);
      break;
    }
  }
}

// The oracle: `text` loaded in one pass, on this thread.
Table one_pass(const std::string& text, const TableSchema& s, Interner& interner) {
  LoadOptions one;
  one.threads = 1;
  auto once = load_csv_text(text, "cases.csv", s, interner, one);
  BOOST_REQUIRE(once.ok());
  return std::move(once.value());
}

// Loads `text` in one pass and in 2..7 parts, each into an interner already holding a few
// texts (as the rules' literals and the tables are when the cases load), and compares.
void check_parts(const std::string& text, const TableSchema& s, const std::string& what) {
  auto fresh = [] {
    Interner in;
    in.intern("pending");  // a value of the case table, met before it loads
    in.intern("BKO-3");
    return in;
  };
  Interner oi = fresh();
  const Table once = one_pass(text, s, oi);
  for (int threads = 2; threads <= 7; ++threads) {
    BOOST_TEST_CONTEXT(what << ", " << threads << " parts") {
      Interner pi = fresh();
      LoadOptions parts;
      parts.threads = threads;
      parts.min_part_bytes = 1;
      auto cut = load_csv_text(text, "cases.csv", s, pi, parts);
      BOOST_REQUIRE(cut.ok());
      check_same(cut.value(), pi, once, oi);
    }
  }
}

BOOST_AUTO_TEST_CASE(parts_load_as_one_pass_does) {
  const TableSchema keyed = schema({0});
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    const std::string text = generated_text(seed, 150 + static_cast<int>(seed) * 37);
    check_parts(text, keyed, "seed " + std::to_string(seed));
  }
}

// Cut into parts with no thread to load them on (a limit on processes or memory): this thread
// loads every part and joins them, to the same table.
BOOST_AUTO_TEST_CASE(parts_load_on_the_calling_thread_when_threads_are_refused) {
  if (!testing::ThreadRefusal::available()) return;  // see support/thread_refusal.h
  const TableSchema keyed = schema({0});
  for (uint32_t seed = 51; seed <= 55; ++seed) {
    const std::string text = generated_text(seed, 2000);
    Interner oi;
    const Table once = one_pass(text, keyed, oi);
    Interner pi;
    LoadOptions parts;
    parts.threads = 4;
    parts.min_part_bytes = 1;
    const size_t refused = refused_threads();
    Result<Table> cut = [&] {
      testing::ThreadRefusal no_threads;
      return load_csv_text(text, "cases.csv", keyed, pi, parts);
    }();
    BOOST_TEST(refused_threads() > refused);  // it was cut, and asked for threads
    BOOST_REQUIRE(cut.ok());
    check_same(cut.value(), pi, once, oi);
  }
}

// Enough distinct texts that ids pass 16 bits (data::Column then widens a text column), with
// a column of few values that meets a new one only near the end (widened there, in whichever
// part holds it) and dates beyond 2059 and before 1880 late on (a date column widens too).
std::string text_with_wide_values(uint32_t seed, int rows) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  std::string t = "phone,case_id,day,n,x,ok,status,langs,vuln,centre,extra\n";
  for (int i = 0; i < rows; ++i) {
    const bool late = i > rows * 9 / 10;
    std::string day = "2019-01-" + std::to_string(10 + pick(19));
    if (late && pick(500) == 0) day = pick(2) ? "2100-03-01" : "1801-12-31";
    std::string centre = "BKO-" + std::to_string(pick(4));
    if (late && pick(800) == 0) centre = "TMB-" + std::to_string(i);
    t += "+223" + std::to_string(seed * 1000000 + static_cast<uint32_t>(i)) + ",W" + std::to_string(i) + "," +
         day + ",1,1.5,true,pending,fra,," + centre + ",e\n";
  }
  return t;
}

BOOST_AUTO_TEST_CASE(parts_widen_columns_as_one_pass_does) {
  const TableSchema keyed = schema({0});
  for (uint32_t seed = 61; seed <= 63; ++seed) {
    const std::string text = text_with_wide_values(seed, 40000);
    Interner in;
    const Table t = one_pass(text, keyed, in);
    BOOST_REQUIRE(t.rows == 40000u);
    // What the text holds reads back, wide or not.
    BOOST_TEST(in.text(t.columns[0].text(39999)) == "W39999");
    bool far_date = false, late_centre = false;
    for (size_t r = 0; r < t.rows; ++r) {
      const int64_t day = t.columns[2].date(r);
      far_date = far_date || day == 47541 || day == -61362;  // 2100-03-01, 1801-12-31
      late_centre = late_centre || in.text(t.columns[9].text(r)).substr(0, 4) == "TMB-";
    }
    BOOST_TEST(far_date);
    BOOST_TEST(late_centre);
    check_parts(text, keyed, "wide values, seed " + std::to_string(seed));
  }
}

// Without a key there is no duplicate to find; with a key of two columns the text is read in
// one pass whatever the threads (parts are joined by one text key): the same either way.
BOOST_AUTO_TEST_CASE(parts_without_a_key_or_with_two_key_columns) {
  for (uint32_t seed = 41; seed <= 50; ++seed) {
    const std::string text = generated_text(seed, 400);
    check_parts(text, schema({}), "no key, seed " + std::to_string(seed));
    check_parts(text, schema({0, 9}), "two key columns, seed " + std::to_string(seed));
  }
}

// The pieces one by one, where a failure says what broke: a cut falling inside a quoted field
// that spans the middle of the text, and a key met in the first part and twice in the second.
BOOST_AUTO_TEST_CASE(a_cut_inside_a_quoted_field_and_keys_repeated_across_parts) {
  std::string text = "case_id,phone,day,n,x,ok,status,langs,vuln,centre\n";
  for (int i = 0; i < 20; ++i) text += "A" + std::to_string(i) + ",,,,,,pending,,,c\n";
  text += "Q,\"";
  for (int i = 0; i < 200; ++i) text += "line " + std::to_string(i) + "\n";
  text += "\",,,,,pending,,,c\n";
  for (int i = 0; i < 20; ++i) text += "B" + std::to_string(i) + ",,,,,,pending,,,c\n";
  check_parts(text, schema({0}), "quoted field over the cut");

  std::string dup = "case_id,phone,day,n,x,ok,status,langs,vuln,centre\n";
  dup += "K,first,,,,,pending,,,c\n";  // line 2
  for (int i = 0; i < 200; ++i) dup += "D" + std::to_string(i) + ",,,,,,pending,,,c\n";
  dup += "K,second,,,,,pending,,,c\n";  // line 203: in a later part
  dup += "K,third,,,,,pending,,,c\n";
  Interner in;
  LoadOptions parts;
  parts.threads = 2;
  parts.min_part_bytes = 1;
  auto t = load_csv_text(dup, "cases.csv", schema({0}), in, parts);
  BOOST_REQUIRE(t.ok());
  BOOST_REQUIRE(t->rejects.size() == 2u);
  BOOST_TEST(t->rejects[0].line == 203u);
  BOOST_TEST(t->rejects[0].reason == "duplicate case_id 'K' (first on line 2)");
  BOOST_TEST(t->rejects[1].line == 204u);
  BOOST_TEST(t->rejects[1].reason == "duplicate case_id 'K' (first on line 2)");
  BOOST_TEST(t->rows == 201u);
  check_parts(dup, schema({0}), "key repeated across parts");
}

// Every record holds a field over five lines: four line ends in five are inside quotes, so
// most cuts (the first ones and the handovers') fall inside a field and are read over.
std::string quoted_lines_text(int rows) {
  std::string t = "case_id,phone,day,n,x,ok,status,langs,vuln,centre\n";
  for (int i = 0; i < rows; ++i) {
    t += "Q" + std::to_string(i) + ",\"";
    for (int k = 0; k < 5; ++k) t += "line " + std::to_string(k) + (k < 4 ? "\n" : "");
    t += "\",2019-01-" + std::to_string(10 + i % 19) + "," + std::to_string(i % 1000) +
         ",1.5,true,pending,fra;bam,uasc,BKO-" + std::to_string(i % 7) + "\n";
  }
  return t;
}

// A thread done with its part takes the unread end of a part still loading (a handover),
// wherever the cut then falls: between records, or inside a quoted field (the part asked then
// reads over the cut and the parts after it are dropped). Which handovers happen depends on
// the threads' timing; over many loads of larger texts, with small parts, some happen, and
// every load gives what one pass gives.
BOOST_AUTO_TEST_CASE(parts_handed_over_while_loading_load_as_one_pass_does) {
  const TableSchema keyed = schema({0});
  size_t handovers = 0, loads = 0;
  for (uint32_t seed = 60; seed <= 66; ++seed) {
    const std::string text = seed == 60 ? quoted_lines_text(8000)
                                        : generated_text(seed, 6000 + static_cast<int>(seed) * 100);
    Interner oi;
    const Table once = one_pass(text, keyed, oi);
    for (int round = 0; round < 8; ++round) {
      for (int threads = 2; threads <= 4; ++threads) {
        BOOST_TEST_CONTEXT("seed " << seed << ", round " << round << ", " << threads << " threads") {
          Interner pi;
          LoadReport report;
          LoadOptions parts;
          parts.threads = threads;
          parts.min_part_bytes = 2048 << (round % 3);
          parts.report = &report;
          auto cut = load_csv_text(text, "cases.csv", keyed, pi, parts);
          BOOST_REQUIRE(cut.ok());
          check_same(cut.value(), pi, once, oi);
          handovers += report.handovers;
          ++loads;
        }
      }
    }
  }
  BOOST_TEST_MESSAGE(handovers << " handovers in " << loads << " loads");
  BOOST_TEST(handovers > 0u);
}

}  // namespace
}  // namespace crible::data
