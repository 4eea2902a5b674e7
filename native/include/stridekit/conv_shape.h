/*
 * Small facts about the ABI's structs that every vendor backend needs (C++ only, header-only): when two
 * sk_conv_shape describe the same run (a plan's per-shape cache), element counts, and the axis order
 * that moves channels between the two layouts (for a Transpose in a vendor graph).
 */
#ifndef STRIDEKIT_CONV_SHAPE_H
#define STRIDEKIT_CONV_SHAPE_H

#include <cstdint>
#include <vector>

#include "stridekit/backend.h"

namespace stridekit {

// values[0] * ... * values[count - 1].
inline int64_t product(const int64_t* values, int count) {
  int64_t p = 1;
  for (int i = 0; i < count; ++i) p *= values[i];
  return p;
}

// Same batch, sizes and pads in the first `rank` dimensions: a compiled model or a chosen algorithm for
// one serves the other.
inline bool same_shape(const sk_conv_shape& a, const sk_conv_shape& b, int rank) {
  if (a.batch != b.batch) return false;
  for (int i = 0; i < rank; ++i) {
    if (a.in_size[i] != b.in_size[i] || a.out_size[i] != b.out_size[i] || a.pad_begin[i] != b.pad_begin[i] ||
        a.pad_end[i] != b.pad_end[i]) {
      return false;
    }
  }
  return true;
}

// The permutation of a rank-`rank` tensor's axes that moves channels from the end to position 1
// (to_channels_first) or from position 1 to the end.
inline std::vector<int64_t> layout_order(int rank, bool to_channels_first) {
  std::vector<int64_t> order{0};
  if (to_channels_first) {
    order.push_back(rank + 1);
    for (int i = 1; i <= rank; ++i) order.push_back(i);
  } else {
    for (int i = 2; i <= rank + 1; ++i) order.push_back(i);
    order.push_back(1);
  }
  return order;
}

}  // namespace stridekit

#endif /* STRIDEKIT_CONV_SHAPE_H */
