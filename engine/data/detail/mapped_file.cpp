#include "data/detail/mapped_file.h"

#include <sys/mman.h>
#include <unistd.h>

namespace crible::data::detail {

std::unique_ptr<MappedFile> MappedFile::open(int fd, size_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    ::close(fd);
    return nullptr;
  }
  // Hints only: a kernel without either reads the file as before.
  ::madvise(p, size, MADV_SEQUENTIAL);
#ifdef MADV_HUGEPAGE
  ::madvise(p, size, MADV_HUGEPAGE);
#endif
  auto m = std::unique_ptr<MappedFile>(new MappedFile);
  m->data_ = static_cast<char*>(p);
  m->size_ = size;
  m->fd_ = fd;
  return m;
}

MappedFile::~MappedFile() {
  ::munmap(data_, size_);
  ::close(fd_);
}

void MappedFile::release(size_t from, size_t before) const {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t begin = (from + page - 1) / page * page, end = before / page * page;
  if (end > begin) ::madvise(data_ + begin, end - begin, MADV_DONTNEED);
}

}  // namespace crible::data::detail
