// A file with the given content, unique to this test process, removed when it goes: for the
// loader's tests that read real files (load_csv maps the large ones).
#pragma once
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <fstream>
#include <string>

namespace crible::testing {

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/crible-test-XXXXXX";
    const int fd = ::mkstemp(name);
    BOOST_TEST_REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

}  // namespace crible::testing
