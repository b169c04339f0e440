// A regular file mapped read-only for the loader. Private to engine/data.
#pragma once
#include <cstddef>
#include <memory>
#include <string_view>

namespace crible::data::detail {

// Reading a mapped file costs no copy and no zeroed buffer, and the loader hands back the
// pages behind its scan (release), so a large cases file never sits in memory whole beside
// the columns built from it: it stays in the page cache, not in the process. (Truncating the
// file while it loads would end the process with SIGBUS; a file is not expected to change
// under a run.)
//
// The mapping is advised for sequential reading and for huge pages. The second decides how
// a file not yet cached comes in: the kernel reads it into 2 MiB page-cache folios and maps
// each with one entry, where sequential read-ahead alone brought a million cases' file in
// mostly as small folios. Every later run over the cached file gains too: mapping the 171 MB
// file took 0.065-0.11 s with small folios and 0.006 s with huge ones, and scanning it 0.30 s
// against 0.13 s (the scanner's hardware prefetch stops at each small page's end, and every
// page is a TLB entry). A file cached in small folios (one written just before, say) stays so.
class MappedFile {
 public:
  // Takes `fd` (closed with the mapping), or closes it and returns null when mmap refuses.
  static std::unique_ptr<MappedFile> open(int fd, size_t size);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view text() const { return {data_, size_}; }

  // Drops the pages wholly inside [from, before) from the process (they are re-read from the
  // file if touched again, so this is only a hint about memory, never about content). Parts
  // of the file loaded side by side release their own ranges.
  void release(size_t from, size_t before) const;

 private:
  MappedFile() = default;
  char* data_ = nullptr;
  size_t size_ = 0;
  int fd_ = -1;
};

}  // namespace crible::data::detail
