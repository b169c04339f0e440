/* bench/first_touch.c: how fast this machine hands a process fresh memory.
 *
 *   cc -O2 -o /tmp/first_touch bench/first_touch.c && /tmp/first_touch [huge]
 *
 * Maps 256 MiB three times (with "huge": advised for transparent huge pages), writes it
 * twice and prints MB/s for the first write (page faults: the kernel finds and clears
 * every page) and the second (plain memory bandwidth). On a physical machine the first
 * write runs at a few GB/s. On a virtual machine whose host takes back the guest's free
 * memory (virtio-balloon free page reporting) it can be ten times slower when that memory
 * has been idle for some seconds, and fast again right after another process freed it:
 * run it twice in a row, then again after `sleep 15`. crible's 1M-case eval touches
 * ~290 MB of fresh memory, so this alone moves its CPU time by ~0.5 s (bench/RESULTS.md). */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  const size_t n = (size_t)256 << 20;
  const int huge = argc > 1 && strcmp(argv[1], "huge") == 0;
  for (int round = 0; round < 3; ++round) {
    char* p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      perror("first_touch: mmap");
      return 1;
    }
#ifdef MADV_HUGEPAGE
    if (huge) madvise(p, n, MADV_HUGEPAGE);
#endif
    double t = now();
    memset(p, 1, n);
    const double first = now() - t;
    t = now();
    memset(p, 2, n);
    const double second = now() - t;
    printf("%s pages, round %d: first write %.0f MB/s, second write %.0f MB/s\n",
           huge ? "huge" : "4 KiB", round + 1, n / first / 1e6, n / second / 1e6);
    munmap(p, n);
  }
  return 0;
}
