// CRIBLE_ASAN is defined when the build runs under AddressSanitizer: GCC says so with
// __SANITIZE_ADDRESS__, clang (before 15) only through __has_feature. The allocation policy
// (large_pages.cpp) steps aside for it, and the tests that cap a process's address space,
// which ASan's shadow memory cannot run under, skip themselves.
#pragma once

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CRIBLE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CRIBLE_ASAN 1
#endif
