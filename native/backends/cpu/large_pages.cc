#include "backends/cpu/large_pages.h"

#include <cstdlib>

#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(_WIN32)
#include <malloc.h>
#endif

namespace stridekit::cpu {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}  // namespace

void* allocate_large(size_t bytes) {
  if (bytes == 0) bytes = 64;
#if defined(_WIN32)
  void* data = _aligned_malloc(bytes, 64);
#else
  const bool huge = bytes >= kHugePage;
  const size_t alignment = huge ? kHugePage : 64;
  const size_t rounded = (bytes + alignment - 1) / alignment * alignment;  // aligned_alloc's rule
  void* data = std::aligned_alloc(alignment, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (data && huge) madvise(data, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
#endif
#endif
  if (!data) throw std::bad_alloc();
  return data;
}

void free_large(void* data, size_t /*bytes*/) {
#if defined(_WIN32)
  _aligned_free(data);
#else
  std::free(data);
#endif
}

}  // namespace stridekit::cpu
