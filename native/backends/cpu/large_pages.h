// Memory for the CPU backend's large buffers (packed weights, split phases, packed panels): 64-byte
// aligned, and, on Linux, buffers of 2 MB or more aligned to 2 MB and marked for transparent huge
// pages (madvise). The GEMM streams megabytes of packed weights per run (ResNet-50's last stage:
// 9.4 MB), one 4 KB page after another; with huge pages those streams stop missing the TLB, whose
// 4 KB entries cover only a few MB. Elsewhere (or when the kernel declines), plain aligned memory.
#pragma once

#include <cstddef>
#include <new>

namespace stridekit::cpu {

void* allocate_large(size_t bytes);
void free_large(void* data, size_t bytes);

// std::vector<float, LargeAllocator<float>> for buffers that may be large.
template <class T>
struct LargeAllocator {
  using value_type = T;
  LargeAllocator() = default;
  template <class U>
  LargeAllocator(const LargeAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(allocate_large(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { free_large(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const LargeAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const LargeAllocator<U>&) const { return false; }
};

}  // namespace stridekit::cpu
