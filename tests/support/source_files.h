// The repository's own files (rules, samples, fixtures) for unit tests, found through
// CRIBLE_SOURCE_DIR, which CTest sets. Header-only.
#pragma once
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace crible::testing {

inline std::filesystem::path source_dir() {
  const char* dir = std::getenv("CRIBLE_SOURCE_DIR");
  BOOST_REQUIRE_MESSAGE(dir, "CRIBLE_SOURCE_DIR is not set (run through ctest)");
  return dir;
}

// The whole file, or a failed test naming it.
inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot read " << p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace crible::testing
