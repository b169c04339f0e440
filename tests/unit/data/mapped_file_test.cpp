// tests/unit/data/mapped_file_test.cpp: the loader's mapped file shows the file's bytes, keeps
// them through a release, and is advised to the kernel for sequential reading and huge pages
// (the advice decides how an uncached file comes into the page cache: see mapped_file.h).
#include "data/detail/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "support/temp_file.h"

namespace crible::data::detail {
namespace {

using testing::TempFile;

std::string content() {
  std::string s;
  for (int i = 0; s.size() < (6u << 20); ++i) s += "C" + std::to_string(i) + ",2019-01-01,+223" + std::to_string(i * 7) + "\n";
  return s;
}

// The VmFlags line of the mapping that starts at `start`, from /proc/self/smaps.
std::string vm_flags_of(const void* start) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_mapping = false;
  const auto want = reinterpret_cast<std::uintptr_t>(start);
  while (std::getline(smaps, line)) {
    std::uintptr_t from = 0, to = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> from >> dash >> to && dash == '-') {
      in_mapping = from == want;
      continue;
    }
    if (in_mapping && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

BOOST_AUTO_TEST_CASE(maps_the_file_for_sequential_reading_on_huge_pages) {
  const std::string text = content();
  TempFile file(text);
  const int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
  BOOST_REQUIRE(fd >= 0);
  auto mapped = MappedFile::open(fd, text.size());
  BOOST_REQUIRE(mapped);
  BOOST_TEST((mapped->text() == text));
  const std::string flags = vm_flags_of(mapped->text().data());
  BOOST_TEST_MESSAGE(flags);
  BOOST_REQUIRE(!flags.empty());
  BOOST_TEST(flags.find(" sr") != std::string::npos, "sequential-read advice: " << flags);
#ifdef MADV_HUGEPAGE
  BOOST_TEST(flags.find(" hg") != std::string::npos, "huge-page advice: " << flags);
#endif
  // A release is a hint about memory: what is read after it is still the file.
  mapped->release(4096, text.size() - 4096);
  BOOST_TEST((mapped->text() == text));
}

}  // namespace
}  // namespace crible::data::detail
