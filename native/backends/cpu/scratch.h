// Per-thread scratch memory that grows to the largest request and is then reused, so a plan's
// steady state allocates nothing.
#pragma once

#include <cstddef>

namespace stridekit::cpu {

enum ScratchSlot { kScratchPackA = 0, kScratchPackB = 1, kScratchTile = 2, kScratchIndex = 3,
                   kScratchSlots = 4 };

// At least `floats` floats, 64-byte aligned, private to the calling thread; valid until the same
// thread asks for the same slot again.
float* thread_scratch(ScratchSlot slot, size_t floats);

}  // namespace stridekit::cpu
