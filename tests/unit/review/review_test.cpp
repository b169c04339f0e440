// The review stage: recording a run's decisions in the audit store. The records must not
// depend on the thread count, a resumed run must end with every case decided exactly once,
// and a pseudonymised review must keep every text's id (its links) while hiding personal
// texts. The reference ruleset over the shipped sample, its 1,500 rows copied four times
// under new case ids: 6,000 cases, three batches of the recorder.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "render/render.h"
#include "review/review.h"
#include "support/compiled_ruleset.h"
#include "support/source_files.h"
#include "unit/audit/audit_test_util.h"

namespace crible::review {
namespace {

namespace fs = std::filesystem;
using audit::test::TempDir;

using testing::read_file;
using testing::source_dir;

// The sample's rows `copies` times, case ids AVR0000001.. renumbered AVR1000001.. and so on
// in the later copies (the first copy keeps its ids).
std::string copied_cases(const std::string& csv, int copies) {
  const size_t header_end = csv.find('\n') + 1;
  std::string out = csv.substr(0, header_end);
  for (int k = 0; k < copies; ++k) {
    std::istringstream rows(csv.substr(header_end));
    std::string row;
    while (std::getline(rows, row)) {
      if (row.empty()) continue;
      if (k > 0 && row.rfind("AVR", 0) == 0) row[3] = static_cast<char>('0' + k);
      out += row;
      out += '\n';
    }
  }
  return out;
}

struct Sample {
  std::unique_ptr<testing::CompiledRuleset> compiled;
  eval::Decisions decisions;
  std::string source;
};

const Sample& sample() {
  static const Sample s = [] {
    const fs::path dir = source_dir();
    Sample out;
    out.source = read_file(dir / "rules/mali-2019.rules");
    testing::RulesetData data;
    data.cases_csv = copied_cases(read_file(dir / "rules/sample/cases.csv"), 4);
    data.tables = {{"flows", read_file(dir / "rules/sample/flows.csv")},
                   {"languages", read_file(dir / "rules/sample/languages.csv")}};
    data.params = {{"as_of", "2019-01-18"}};
    data.rejects_allowed = true;  // the sample has a few rejected rows, on purpose
    out.compiled = testing::compile_ruleset(out.source, data);
    out.decisions = out.compiled->evaluator->evaluate_all(1);
    return out;
  }();
  return s;
}

DecidedRun decided_run() {
  const Sample& s = sample();
  return {s.compiled->rules, s.compiled->cases, s.compiled->interner, *s.compiled->evaluator};
}

// The recorder decides the cases it explains: what it returns must be evaluate_all's, every
// row and column (the summary and --out are written from it).
void check_same_as_evaluate_all(const eval::Decisions& got) {
  const eval::Decisions& want = sample().decisions;
  BOOST_REQUIRE_EQUAL(got.cases, want.cases);
  BOOST_REQUIRE_EQUAL(got.n_scores, want.n_scores);
  BOOST_REQUIRE_EQUAL(got.n_criteria, want.n_criteria);
  BOOST_REQUIRE_EQUAL(got.n_signals, want.n_signals);
  BOOST_TEST((got.disposition == want.disposition));
  BOOST_TEST((got.scores == want.scores));
  BOOST_TEST((got.criteria == want.criteria));
  BOOST_TEST((got.fired == want.fired));
}

audit::RunStart run_start(const std::string& fingerprint) {
  audit::RunStart start = audit::test::sample_start(fingerprint);
  start.findings.clear();
  for (const auto& c : sample().compiled->rules.criteria)
    start.findings.push_back({c.id, c.name, "criterion", "", 0});
  for (const auto& g : sample().compiled->rules.signals)
    start.findings.push_back({g.id, g.name, "signal", "", g.points});
  start.detail_layout = render::DecisionEncoder(sample().compiled->rules).layout_json();
  return start;
}

audit::RulesetVersion ruleset_version() {
  return audit::test::sample_ruleset(sample().source);
}

// Everything a decision record holds but its chain hash (which covers the run's times).
std::vector<std::string> stored(audit::Store& store, int64_t run) {
  auto decisions = store.decisions(run);
  BOOST_REQUIRE(decisions.ok());
  std::vector<std::string> out;
  for (const auto& d : *decisions) {
    std::string scores;
    for (const auto& [k, v] : d.scores) scores += k + "=" + v + ";";
    out.push_back(std::to_string(d.input_index) + "|" + d.case_key + "|" + d.disposition + "|" +
                  d.disposition_rule + "|" + scores + "|" + d.fired + "|" + d.outcomes + "|" +
                  d.detail_json + "|" + d.detail_hash);
  }
  return out;
}

// Records a whole run into a new store at `path`; returns the stored decisions.
std::vector<std::string> record_all(const std::string& path, const RecordOptions& options) {
  auto store = audit::Store::open(path);
  BOOST_REQUIRE(store.ok());
  auto run = store->begin_run(ruleset_version(), run_start("fp"));
  BOOST_REQUIRE(run.ok());
  const auto decided = record_decisions(*store, *run, decided_run(), options);
  BOOST_REQUIRE_MESSAGE(decided.ok(), (decided.ok() ? "" : decided.error().message));
  check_same_as_evaluate_all(decided.value());
  BOOST_REQUIRE(store->finish_run(*run, sample().compiled->cases.read,
                                  sample().decisions.cases, {}).ok());
  auto report = store->verify();
  BOOST_REQUIRE(report.ok());
  BOOST_TEST(report->intact);
  return stored(*store, *run);
}

BOOST_AUTO_TEST_SUITE(review_recording)

BOOST_AUTO_TEST_CASE(the_sample_spans_several_batches) {
  BOOST_TEST(sample().decisions.cases > 5000u);  // three batches of 2,500 at least
}

BOOST_AUTO_TEST_CASE(every_case_once_in_input_order_whatever_the_thread_count) {
  TempDir tmp;
  RecordOptions one;
  one.threads = 1;
  std::vector<std::pair<size_t, size_t>> reported;
  one.progress = [&](size_t done, size_t total) { reported.emplace_back(done, total); };
  const auto by_one = record_all(tmp.file("one.sqlite"), one);
  const size_t n = sample().decisions.cases;
  BOOST_REQUIRE_EQUAL(by_one.size(), n);
  for (size_t i = 0; i < n; ++i)
    BOOST_TEST(by_one[i].rfind(std::to_string(i) + "|", 0) == 0, "decision " << i);
  // Progress after each batch, rising, ending with every case.
  BOOST_REQUIRE(!reported.empty());
  BOOST_TEST(reported.size() == (n + 2499) / 2500);
  BOOST_TEST(reported.back().first == n);
  for (size_t k = 1; k < reported.size(); ++k)
    BOOST_TEST(reported[k].first > reported[k - 1].first);
  for (int threads : {2, 3, 7}) {
    RecordOptions more;
    more.threads = threads;
    const auto by_more = record_all(tmp.file("t" + std::to_string(threads) + ".sqlite"), more);
    BOOST_TEST(by_more == by_one, threads << " threads");
  }
}

BOOST_AUTO_TEST_CASE(a_resumed_run_decides_each_remaining_case_once) {
  TempDir tmp;
  RecordOptions options;
  options.threads = 2;
  const auto whole = record_all(tmp.file("whole.sqlite"), options);

  // A run that stopped after some batches and some scattered decisions: the recorder must
  // add exactly the others.
  auto full = audit::Store::open(tmp.file("whole.sqlite"));
  BOOST_REQUIRE(full.ok());
  auto runs = full->runs();
  BOOST_REQUIRE(runs.ok() && runs->size() == 1);
  auto records = full->decisions(runs->front().run_id);
  BOOST_REQUIRE(records.ok());
  std::vector<audit::DecisionRecord> first_part;
  for (const auto& r : *records)
    if (r.input_index < 2600 || r.input_index % 97 == 0) first_part.push_back(r);
  for (auto& r : first_part) r.detail_hash.clear();  // hashed again by the store

  auto store = audit::Store::open(tmp.file("resumed.sqlite"));
  BOOST_REQUIRE(store.ok());
  auto run = store->begin_run(ruleset_version(), run_start("fp"));
  BOOST_REQUIRE(run.ok());
  BOOST_REQUIRE(store->append_decisions(*run, first_part).ok());
  const auto decided = record_decisions(*store, *run, decided_run(), options);
  BOOST_REQUIRE(decided.ok());
  // The cases it held already are decided too.
  check_same_as_evaluate_all(decided.value());
  BOOST_REQUIRE(store->finish_run(*run, sample().compiled->cases.read,
                                  sample().decisions.cases, {}).ok());
  BOOST_TEST(stored(*store, *run) == whole);
  auto report = store->verify();
  BOOST_REQUIRE(report.ok());
  BOOST_TEST(report->intact);
}

BOOST_AUTO_TEST_CASE(a_store_error_stops_the_recording_and_is_returned) {
  TempDir tmp;
  auto store = audit::Store::open(tmp.file("a.sqlite"));
  BOOST_REQUIRE(store.ok());
  auto run = store->begin_run(ruleset_version(), run_start("fp"));
  BOOST_REQUIRE(run.ok());
  // A finished run refuses appends: the recorder must stop and say so, not crash or hang.
  BOOST_REQUIRE(store->finish_run(*run, 0, 0, {}).ok());
  const auto st = record_decisions(*store, *run, decided_run(), {});
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST_MESSAGE(st.error().message);
  BOOST_TEST(!st.error().message.empty());
}

BOOST_AUTO_TEST_CASE(pseudonymised_texts_keep_their_ids_and_their_links) {
  const Sample& s = sample();
  const Interner& plain = s.compiled->interner;
  // Several threads share the texts out in runs of 4,096 ids: the sample has enough for three.
  BOOST_REQUIRE(plain.size() > 2 * 4096u);
  for (int threads : {1, 3}) {
    BOOST_TEST_CONTEXT(threads << " threads") {
      const TextReplacements pseudonymised =
          pseudonyms(s.compiled->rules, s.compiled->cases, plain, "k3y", threads);
      const TextView hidden(plain, pseudonymised);
      const auto& columns = s.compiled->rules.cases.columns;
      size_t personal_seen = 0, plain_seen = 0;
      for (size_t c = 0; c < columns.size(); ++c) {
        const data::Column& col = s.compiled->cases.columns[c];
        if (!col.loaded || columns[c].type.kind != TypeKind::Text) continue;
        for (size_t r = 0; r < s.compiled->cases.rows; ++r) {
          if (!col.valid(r)) continue;
          const uint32_t id = col.text(r);
          const std::string_view shown = hidden.text(id);
          if (columns[c].personal) {
            ++personal_seen;
            BOOST_TEST(shown == "hmac:" + audit::hmac_sha256_hex("k3y", std::string(plain.text(id)))
                                              .substr(0, 16));
          } else {
            ++plain_seen;
            BOOST_TEST(shown == plain.text(id));
          }
        }
      }
      BOOST_TEST(personal_seen > 1000u);  // phones and document numbers
      BOOST_TEST(plain_seen > 1000u);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_pseudonymised_review_stores_no_personal_text) {
  TempDir tmp;
  RecordOptions options;
  options.pseudonymise_key = "k3y";
  const auto hidden = record_all(tmp.file("hidden.sqlite"), options);
  const auto shown = record_all(tmp.file("shown.sqlite"), RecordOptions{});
  // A phone of the sample, as it reads in the plain store's details and nowhere in the other.
  const Sample& s = sample();
  const auto& columns = s.compiled->rules.cases.columns;
  std::string phone;
  for (size_t c = 0; c < columns.size() && phone.empty(); ++c) {
    if (columns[c].name != "phone") continue;
    const data::Column& col = s.compiled->cases.columns[c];
    for (size_t r = 0; r < s.compiled->cases.rows && phone.empty(); ++r)
      if (col.valid(r)) phone = std::string(s.compiled->interner.text(col.text(r)));
  }
  BOOST_REQUIRE(!phone.empty());
  auto contains = [&](const std::vector<std::string>& rows) {
    for (const auto& row : rows)
      if (row.find(phone) != std::string::npos) return true;
    return false;
  };
  BOOST_TEST(contains(shown));
  BOOST_TEST(!contains(hidden));
  BOOST_REQUIRE_EQUAL(hidden.size(), shown.size());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(review_explanation)

// A decision recorded above, read back as `crible explain` reads it.
audit::StoredDecision stored_decision(const std::string& case_key) {
  static TempDir tmp;
  static const std::string path = [] {
    const std::string p = tmp.file("explained.sqlite");
    record_all(p, RecordOptions{});
    return p;
  }();
  auto store = audit::Store::open(path);
  BOOST_REQUIRE(store.ok());
  auto d = store->decision(case_key, std::nullopt);
  BOOST_REQUIRE(d.ok());
  return std::move(d.value());
}

BOOST_AUTO_TEST_CASE(text_and_json_tell_the_same_decision) {
  const audit::StoredDecision d = stored_decision("AVR0000756");
  auto text = explanation(d, ExplanationFormat::Text);
  auto json = explanation(d, ExplanationFormat::Json);
  BOOST_REQUIRE(text.ok());
  BOOST_REQUIRE(json.ok());
  BOOST_TEST(text->rfind("case AVR0000756: " + d.decision.disposition + "\n", 0) == 0, *text);
  BOOST_TEST(text->find("\ncriteria:\n") != std::string::npos);
  BOOST_TEST(text->find("\nscores:\n") != std::string::npos);
  const auto j = nlohmann::json::parse(*json);
  BOOST_TEST(j.at("case_id") == "AVR0000756");
  BOOST_TEST(j.at("disposition") == d.decision.disposition);
  BOOST_TEST(j.at("effective_disposition") == d.decision.disposition);
  BOOST_TEST(j.at("detail").at("criteria").size() == sample().compiled->rules.criteria.size());
  BOOST_TEST(json->back() == '\n');
}

BOOST_AUTO_TEST_CASE(an_override_and_an_erasure_are_shown) {
  audit::StoredDecision d = stored_decision("AVR0000756");
  d.decision.detail_json.clear();
  d.erased = "on 2026-12-04T00:00:00Z by dpo: retention";
  audit::OverrideRecord o;
  o.case_key = "AVR0000756";
  o.disposition = "APPROVE";
  o.previous = d.decision.disposition;
  o.by = "supervisor";
  o.reason = "documents checked";
  o.at = "2026-12-04T01:00:00Z";
  d.overrides.push_back(o);
  auto text = explanation(d, ExplanationFormat::Text);
  BOOST_REQUIRE(text.ok());
  BOOST_TEST(text->rfind("case AVR0000756: APPROVE\n  overridden; the rules decided " +
                             d.decision.disposition + "\n", 0) == 0, *text);
  BOOST_TEST(text->find("evidence: erased on 2026-12-04T00:00:00Z by dpo: retention") !=
             std::string::npos, *text);
  BOOST_TEST(text->find("-> APPROVE by supervisor: documents checked") != std::string::npos);
  auto json = explanation(d, ExplanationFormat::Json);
  BOOST_REQUIRE(json.ok());
  const auto j = nlohmann::json::parse(*json);
  BOOST_TEST(j.at("effective_disposition") == "APPROVE");
  BOOST_TEST(j.at("detail").is_null());
  BOOST_TEST(j.at("overrides").size() == 1u);
}

// An edited layout can keep its shape and put numbers where names belong: an Error, not an
// exception out of the stage (the CLI used to abort on it).
BOOST_AUTO_TEST_CASE(a_layout_with_numbers_for_names_is_an_error) {
  audit::StoredDecision d = stored_decision("AVR0000756");
  auto layout = nlohmann::ordered_json::parse(d.detail_layout);
  for (auto& c : layout.at("criteria")) c["name"] = 7;
  d.detail_layout = layout.dump();
  auto text = explanation(d, ExplanationFormat::Text);
  BOOST_REQUIRE(!text.ok());
  BOOST_TEST(text.error().message.find("does not fit its run's layout") != std::string::npos,
             text.error().message);
  d.detail_layout = "garbage";
  BOOST_TEST(!explanation(d, ExplanationFormat::Json).ok());
}

// A layout of 200,000 field names, 200,000 evidence names for one criterion and 200,000 scores,
// with as many scores and parameters in the decision and its run (an edited store): explain
// built and searched its objects with ordered_json's operator[] and at(), which compare a name
// with every member before it, then parsed the detail it had just dumped, the same way. That
// is quadratic: 20,000 names took a second, 200,000 take minutes, and this test would hang.
// Built through hash indexes now, it takes a fraction of a second. No time is asserted.
BOOST_AUTO_TEST_CASE(a_layout_of_many_names_explains_in_linear_time) {
  using ojson = nlohmann::ordered_json;
  audit::StoredDecision d = stored_decision("AVR0000756");
  auto layout = ojson::parse(d.detail_layout);
  auto values = ojson::parse(d.decision.detail_json);
  constexpr int kNames = 200000;
  for (int i = 0; i < kNames; ++i) {
    const std::string name = "n" + std::to_string(i);
    layout["fields"].push_back(name);
    values[6].push_back(nullptr);
    layout["criteria"][0]["evidence"].push_back(name);
    values[4][0][2].push_back(i);
    layout["scores"].push_back({{"name", name}, {"form", "terms"}, {"terms", ojson::array()}});
    values[2].push_back(i);
    values[3].push_back(ojson::array());
    d.decision.scores.emplace_back(name, std::to_string(i));
    d.params.emplace_back(name, "v");
  }
  d.detail_layout = layout.dump();
  d.decision.detail_json = values.dump();
  auto text = explanation(d, ExplanationFormat::Text);
  BOOST_REQUIRE_MESSAGE(text.ok(), (text.ok() ? "" : text.error().message));
  BOOST_TEST(text->find(", n0 = 0, n1 = 1, ") != std::string::npos);     // E1's evidence
  BOOST_TEST(text->find("\n  n199999 = 199999\n") != std::string::npos);  // a score
  BOOST_TEST(text->find(", n199999 = missing\n") != std::string::npos);   // the fields read
  auto json = explanation(d, ExplanationFormat::Json);
  BOOST_REQUIRE_MESSAGE(json.ok(), (json.ok() ? "" : json.error().message));
  BOOST_TEST(json->find("\"n199999\": 199999") != std::string::npos);
  BOOST_TEST(json->find("\"n199999\": \"v\"") != std::string::npos);
}

// Objects of 200,000 members where the store has a few or none: in the layout, as a field's
// value, as a score's text. ordered_json parsed each in n² steps (20,000 members took 0.4 s,
// 200,000 would take a minute each, and this test would hang); they are now parsed as sorted
// maps, their order being no part of what explain shows. No time is asserted.
BOOST_AUTO_TEST_CASE(an_object_of_many_members_in_the_store_explains_in_linear_time) {
  using ojson = nlohmann::ordered_json;
  audit::StoredDecision d = stored_decision("AVR0000756");
  std::string big = "{";
  for (int i = 0; i < 200000; ++i)
    big += (i ? ",\"m" : "\"m") + std::to_string(i) + "\":" + std::to_string(i);
  big += "}";
  // Put in place of a marker, as text: building it as an ordered_json would be quadratic too.
  auto with_big = [&](ojson j) {
    std::string text = j.dump();
    text.replace(text.find("\"BIG\""), 5, big);
    return text;
  };
  auto layout = ojson::parse(d.detail_layout);
  layout["extra"] = "BIG";
  d.detail_layout = with_big(layout);
  auto values = ojson::parse(d.decision.detail_json);
  values[6][0] = "BIG";  // the first field's value
  d.decision.detail_json = with_big(values);
  d.decision.scores.front().second = big;
  for (const auto format : {ExplanationFormat::Text, ExplanationFormat::Json}) {
    auto shown = explanation(d, format);
    BOOST_REQUIRE_MESSAGE(shown.ok(), (shown.ok() ? "" : shown.error().message));
    BOOST_TEST(shown->find("m199999") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible::review
