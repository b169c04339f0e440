// The public hashing helpers: SHA-256 of bytes and of files, HMAC-SHA256, against published
// test vectors.
#include <boost/test/unit_test.hpp>
#include <fstream>

#include "audit/audit.h"
#include "unit/audit/audit_test_util.h"

namespace crible::audit {
namespace {

BOOST_AUTO_TEST_SUITE(audit_crypto)

BOOST_AUTO_TEST_CASE(sha256_known_vectors) {
  // FIPS 180-2 appendix B.1, and the empty message.
  BOOST_TEST(sha256_hex("abc") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

BOOST_AUTO_TEST_CASE(hmac_rfc4231_test_case_2) {
  BOOST_TEST(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

BOOST_AUTO_TEST_CASE(hmac_depends_on_the_key) {
  BOOST_TEST(hmac_sha256_hex("k1", "+223 76 12 34 56") !=
             hmac_sha256_hex("k2", "+223 76 12 34 56"));
}

// One key set up once, many values: each value's HMAC is its own, whatever came before it
// (RFC 4231 test cases 2 and 6, the latter with a key longer than SHA-256's block).
BOOST_AUTO_TEST_CASE(a_keyed_hmac_gives_each_value_its_own_hmac) {
  Hmac jefe("Jefe");
  BOOST_TEST(jefe.hex("what do ya want for nothing?") ==
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  BOOST_TEST(jefe.hex("+223 76 12 34 56") == hmac_sha256_hex("Jefe", "+223 76 12 34 56"));
  BOOST_TEST(jefe.hex("") == hmac_sha256_hex("Jefe", ""));
  BOOST_TEST(jefe.hex("what do ya want for nothing?") ==
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  Hmac long_key(std::string(131, '\xaa'));
  BOOST_TEST(long_key.hex("Test Using Larger Than Block-Size Key - Hash Key First") ==
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

BOOST_AUTO_TEST_CASE(sha256_file_streams_large_files) {
  test::TempDir tmp;
  const std::string path = tmp.file("big.csv");
  std::string content;
  for (int i = 0; content.size() < 300000; ++i) content += "AVR" + std::to_string(i) + ",Gao\n";
  std::ofstream(path, std::ios::binary) << content;
  auto h = sha256_file(path);
  BOOST_REQUIRE(h.ok());
  BOOST_TEST(*h == sha256_hex(content));

  std::ofstream(tmp.file("abc.txt"), std::ios::binary) << "abc";
  BOOST_TEST(*sha256_file(tmp.file("abc.txt")) ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_CASE(sha256_file_of_a_missing_file_is_an_error) {
  test::TempDir tmp;
  auto h = sha256_file(tmp.file("absent.csv"));
  BOOST_REQUIRE(!h.ok());
  BOOST_TEST(h.error().message.find("cannot read " + tmp.file("absent.csv")) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace crible::audit
