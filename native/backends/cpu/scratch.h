// Per-thread scratch memory that grows to the largest request and is then reused, so a plan's
// steady state allocates nothing.
#pragma once

#include <cstddef>

namespace stridekit::cpu {

enum ScratchSlot {
  kScratchPackA = 0,  // per tile: a block of A packed at run time
  kScratchPackB = 1,  // per tile: a block of B packed at run time
  kScratchTile = 2,   // per tile: an output tile on its way to its final layout
  kScratchIndex = 3,  // per tile: index tables for packing and scattering
  kScratchShared = 4, // the calling thread's buffer shared by all tiles of one parallel_for
  kScratchBf16A = 5,  // per tile, precision bf16: the A block converted to bf16 pairs
  kScratchBf16B = 6,  // per tile, precision bf16: the B block converted to bf16 pairs
  kScratchCuts = 7,   // the calling thread's row boundaries of one parallel_for (EdgeTiles::row_cuts)
  kScratchSlots = 8
};

// At least `floats` floats, 64-byte aligned, private to the calling thread; valid until the same
// thread asks for the same slot again.
float* thread_scratch(ScratchSlot slot, size_t floats);

}  // namespace stridekit::cpu
