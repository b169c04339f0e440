// CRIBLE_TEST_ASAN is defined when the tests are built with AddressSanitizer: GCC says
// __SANITIZE_ADDRESS__, clang (before 15) only answers __has_feature. The same test as
// engine/base/large_pages.cpp's.
#pragma once

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CRIBLE_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CRIBLE_TEST_ASAN 1
#endif
