// The canonical bytes of chained records, the chain hash, canonical JSON and the clock, pinned
// byte for byte: a change here changes every hash ever stored, so it must be deliberate.
#include "audit/detail/canonical.h"

#include <boost/test/unit_test.hpp>
#include <cmath>

#include "audit/audit.h"
#include "unit/audit/audit_test_util.h"

namespace crible::audit {
namespace {

using detail::Canonical;

std::string bytes(std::initializer_list<int> b) {
  std::string out;
  for (int c : b) out.push_back(static_cast<char>(c));
  return out;
}

std::string json_str(std::string_view s) {
  std::string out;
  detail::json_string(out, s);
  return out;
}

std::string json_num(double v) {
  std::string out;
  detail::json_number(out, v);
  return out;
}

BOOST_AUTO_TEST_SUITE(audit_canonical)

BOOST_AUTO_TEST_CASE(fields_are_tagged_and_length_prefixed) {
  Canonical c;
  c.text("ab");
  c.integer(258);
  c.integer(-1);
  c.null();
  c.blob("");
  const std::string want = bytes({'T', 0, 0, 0, 0, 0, 0, 0, 2, 'a', 'b'}) +
                           bytes({'I', 0, 0, 0, 0, 0, 0, 1, 2}) +
                           bytes({'I', 255, 255, 255, 255, 255, 255, 255, 255}) + "N" +
                           bytes({'B', 0, 0, 0, 0, 0, 0, 0, 0});
  BOOST_TEST(c.bytes() == want);
}

BOOST_AUTO_TEST_CASE(a_record_starts_afresh_with_its_kind) {
  Canonical c;
  c.integer(7);  // a previous record's bytes
  c.start("run");
  c.integer(1);
  BOOST_TEST(c.bytes() == bytes({'T', 0, 0, 0, 0, 0, 0, 0, 3, 'r', 'u', 'n'}) +
                              bytes({'I', 0, 0, 0, 0, 0, 0, 0, 1}));
}

BOOST_AUTO_TEST_CASE(encoding_is_unambiguous) {
  Canonical a, b;
  a.text("ab");
  a.text("c");
  b.text("a");
  b.text("bc");
  BOOST_TEST(a.bytes() != b.bytes());  // moving a boundary changes the bytes
  Canonical i, t;
  i.integer(42);
  t.text("42");
  BOOST_TEST(i.bytes() != t.bytes());  // so does changing a value's type
  Canonical n, e;
  n.null();
  e.text("");
  BOOST_TEST(n.bytes() != e.bytes());  // NULL is not the empty text
}

BOOST_AUTO_TEST_CASE(chain_hash_is_sha256_of_previous_hash_then_bytes) {
  detail::Sha256 sha;
  const detail::Digest zero{};
  const std::string record = "T\x00\x00\x00\x00\x00\x00\x00\x03run";
  const detail::Digest h1 = sha.chain(zero, record);
  BOOST_TEST(detail::to_hex(h1) == sha256_hex(std::string(32, '\0') + record));
  const detail::Digest h2 = sha.chain(h1, "x");
  BOOST_TEST(detail::to_hex(h2) ==
             sha256_hex(std::string(reinterpret_cast<const char*>(h1.data()), 32) + "x"));
  BOOST_TEST(detail::to_hex(sha.digest("abc")) == sha256_hex("abc"));
}

BOOST_AUTO_TEST_CASE(hex_round_trip) {
  const std::string hex = sha256_hex("abc");
  auto d = detail::digest_from_hex(hex);
  BOOST_REQUIRE(d.has_value());
  BOOST_TEST(detail::to_hex(*d) == hex);
  BOOST_TEST(!detail::digest_from_hex(hex.substr(1)).has_value());
  BOOST_TEST(!detail::digest_from_hex("g" + hex.substr(1)).has_value());
}

BOOST_AUTO_TEST_CASE(json_strings_are_escaped_minimally) {
  BOOST_TEST(json_str("plain") == "\"plain\"");
  BOOST_TEST(json_str("a\"b\\c") == "\"a\\\"b\\\\c\"");
  BOOST_TEST(json_str("l1\nl2\t\x01") == "\"l1\\nl2\\t\\u0001\"");
  BOOST_TEST(json_str("Ségou / \xe2\x80\xa6") == "\"Ségou / \xe2\x80\xa6\"");  // UTF-8 kept
  BOOST_TEST(json_str("bad\xff") == "\"bad\\ufffd\"");                         // invalid: U+FFFD
  BOOST_TEST(json_str("\xc0\xaf") == "\"\\ufffd\\ufffd\"");                    // overlong
  BOOST_TEST(json_str("/") == "\"/\"");
}

BOOST_AUTO_TEST_CASE(json_numbers_are_shortest_round_trip) {
  BOOST_TEST(json_num(0) == "0");
  BOOST_TEST(json_num(3.0) == "3");
  BOOST_TEST(json_num(0.5) == "0.5");
  BOOST_TEST(json_num(0.1) == "0.1");
  BOOST_TEST(json_num(-2.25) == "-2.25");
  BOOST_TEST(json_num(1.0 / 3) == "0.3333333333333333");
  BOOST_TEST(json_num(1e21) == "1e+21");
  BOOST_TEST(json_num(std::nan("")) == "null");
  BOOST_TEST(json_num(INFINITY) == "null");
  std::string i;
  detail::json_integer(i, -9007199254740993);
  BOOST_TEST(i == "-9007199254740993");
}

BOOST_AUTO_TEST_CASE(now_is_iso_utc_and_crible_now_overrides_it) {
  {
    test::FixedNow now("2026-11-23T14:35:51Z");
    auto t = detail::now_iso();
    BOOST_REQUIRE(t.ok());
    BOOST_TEST(*t == "2026-11-23T14:35:51Z");
  }
  auto t = detail::now_iso();
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(detail::is_iso_utc(*t));
  BOOST_TEST(t->substr(0, 2) == "20");
}

BOOST_AUTO_TEST_CASE(a_malformed_crible_now_is_an_error) {
  test::FixedNow now("2026-11-23 14:35:51");
  auto t = detail::now_iso();
  BOOST_REQUIRE(!t.ok());
  BOOST_TEST(t.error().message.find("CRIBLE_NOW") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(iso_utc_shape) {
  BOOST_TEST(detail::is_iso_utc("2026-11-23T14:35:51Z"));
  BOOST_TEST(!detail::is_iso_utc("2026-11-23T14:35:51"));
  BOOST_TEST(!detail::is_iso_utc("2026-13-23T14:35:51Z"));
  BOOST_TEST(!detail::is_iso_utc("2026-11-23T24:35:51Z"));
  BOOST_TEST(!detail::is_iso_utc("2026-11-23T14:35:5xZ"));
  BOOST_TEST(!detail::is_iso_utc("2026-11-23t14:35:51Z"));
}

// The hash stored for a decision is exactly the documented encoding of its columns.
BOOST_AUTO_TEST_CASE(stored_decision_hash_follows_the_documented_encoding) {
  test::TempDir tmp;
  test::FixedNow now("2026-11-23T14:35:51Z");
  const std::string path = tmp.file("audit.sqlite");
  int64_t run = 0;
  DecisionRecord d = test::sample_decision(7, "AVR0000042");
  d.outcomes = "uy";
  d.findings = {{"E1", "CONSENT", "criterion", "unknown", 0},
                {"S4", "SHARED_PHONE", "signal", "fired", 2.5}};
  {
    Store store = test::open_store(path);
    run = *store.begin_run(test::sample_ruleset(), test::sample_start());
    BOOST_REQUIRE(store.append_decisions(run, {d}).ok());
  }
  test::Raw raw(path);
  // Records: #1 ruleset, #2 run, #3 the decision.
  BOOST_TEST(raw.text("SELECT kind FROM " + test::kChain + " WHERE seq = 3") == "decision");
  const auto prev = detail::digest_from_hex(raw.text("SELECT lower(hex(hash)) FROM runs WHERE seq = 2"));
  BOOST_REQUIRE(prev.has_value());
  Canonical c;
  c.text("decision");
  c.integer(3);
  c.integer(run);
  c.integer(7);
  c.text("AVR0000042");
  c.text(d.disposition);
  c.text(d.disposition_rule);
  c.text("[[\"risk\",\"0.5\"]]");
  c.text(d.fired);
  c.text("uy");  // the outcomes only, one letter each: the rules are in the run record
  c.text(sha256_hex(d.detail_json));
  detail::Sha256 sha;
  BOOST_TEST(raw.text("SELECT lower(hex(hash)) FROM decisions WHERE seq = 3") ==
             detail::to_hex(sha.chain(*prev, c.bytes())));
  // And the first record chains from 32 zero bytes.
  Canonical r;
  r.text("ruleset");
  r.integer(1);
  r.integer(1);
  const RulesetVersion rs = test::sample_ruleset();
  r.text(rs.path);
  r.text(rs.source);
  r.text(rs.sha256);
  r.text(rs.crible_version);
  r.text("2026-11-23T14:35:51Z");
  BOOST_TEST(raw.text("SELECT lower(hex(hash)) FROM rulesets WHERE seq = 1") ==
             detail::to_hex(sha.chain(detail::Digest{}, r.bytes())));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible::audit
