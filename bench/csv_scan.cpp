// bench/csv_scan: the record scanner alone (engine/data/detail/csv_reader), over a file
// mapped afresh for each pass as the loader maps it, or over a copy of it in memory:
// what the scanner costs apart from typing, interning and the columns.
//
//   csv_scan CASES.csv [--repeat R] [--in-memory]
//
// Prints each pass's wall seconds, then the best, with records, fields and MB/s.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "data/detail/csv_reader.h"

namespace {

struct Pass {
  double seconds = 0;
  size_t records = 0, fields = 0;
  uint64_t check = 0;  // read from every record, so that no pass is optimised away
};

Pass scan(std::string_view text) {
  const auto t0 = std::chrono::steady_clock::now();
  Pass p;
  crible::data::detail::CsvReader reader(text);
  crible::data::detail::CsvRecord record;
  while (reader.next(record)) {
    ++p.records;
    p.fields += record.fields.size();
    p.check += record.fields.back().raw_end + record.fields.front().value.size();
  }
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: csv_scan CASES.csv [--repeat R] [--in-memory]\n");
    return 2;
  }
  const char* path = argv[1];
  int repeat = 5;
  bool in_memory = false;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--in-memory") == 0) {
      in_memory = true;
    } else {
      std::fprintf(stderr, "csv_scan: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  const int fd = ::open(path, O_RDONLY);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || st.st_size == 0) {
    std::fprintf(stderr, "csv_scan: cannot read %s\n", path);
    return 2;
  }
  const size_t size = static_cast<size_t>(st.st_size);
  auto map = [&] {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      std::perror("csv_scan: mmap");
      std::exit(2);
    }
    ::madvise(p, size, MADV_SEQUENTIAL);  // as the loader does
    return static_cast<const char*>(p);
  };
  std::string copy;
  if (in_memory) {
    const char* p = map();
    copy.assign(p, size);
    ::munmap(const_cast<char*>(p), size);
  }
  Pass best;
  best.seconds = 1e300;
  for (int r = 0; r < repeat; ++r) {
    Pass p;
    if (in_memory) {
      p = scan(copy);
    } else {
      const char* m = map();
      p = scan(std::string_view(m, size));
      ::munmap(const_cast<char*>(m), size);
    }
    std::printf("%.3f ", p.seconds);
    if (p.seconds < best.seconds) best = p;
  }
  ::close(fd);
  std::printf("\nbest %.3f s (%s): %zu records, %zu fields, %.0f MB/s (check %llu)\n",
              best.seconds, in_memory ? "in memory" : "mapped", best.records, best.fields,
              static_cast<double>(size) / best.seconds / 1e6,
              static_cast<unsigned long long>(best.check));
  return 0;
}
