#include "backends/cpu/scratch.h"

#include <cstdlib>
#include <new>

namespace stridekit::cpu {

namespace {
#if defined(_WIN32)
#include <malloc.h>
void* allocate_aligned(size_t bytes) { return _aligned_malloc(bytes, 64); }
void free_aligned(void* p) { _aligned_free(p); }
#else
void* allocate_aligned(size_t bytes) { return std::aligned_alloc(64, bytes); }
void free_aligned(void* p) { std::free(p); }
#endif

struct Buffer {
  float* data = nullptr;
  size_t capacity = 0;
  ~Buffer() { free_aligned(data); }
};
thread_local Buffer buffers[kScratchSlots];
}  // namespace

float* thread_scratch(ScratchSlot slot, size_t floats) {
  Buffer& b = buffers[slot];
  if (floats > b.capacity) {
    free_aligned(b.data);
    b.data = nullptr;
    size_t bytes = ((floats * sizeof(float)) + 63) / 64 * 64;
    b.data = static_cast<float*>(allocate_aligned(bytes));
    if (!b.data) {
      b.capacity = 0;
      throw std::bad_alloc();
    }
    b.capacity = bytes / sizeof(float);
  }
  return b.data;
}

}  // namespace stridekit::cpu
