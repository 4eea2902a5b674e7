#include "backends/cpu/scratch.h"

#include "backends/cpu/large_pages.h"

namespace stridekit::cpu {

namespace {

struct Buffer {
  float* data = nullptr;
  size_t capacity = 0;
  ~Buffer() { free_large(data, capacity * sizeof(float)); }
};
thread_local Buffer buffers[kScratchSlots];
}  // namespace

float* thread_scratch(ScratchSlot slot, size_t floats) {
  Buffer& b = buffers[slot];
  if (floats > b.capacity) {
    free_large(b.data, b.capacity * sizeof(float));
    b.data = nullptr;
    b.capacity = 0;
    const size_t bytes = ((floats * sizeof(float)) + 63) / 64 * 64;
    b.data = static_cast<float*>(allocate_large(bytes));  // throws std::bad_alloc
    b.capacity = bytes / sizeof(float);
  }
  return b.data;
}

}  // namespace stridekit::cpu
