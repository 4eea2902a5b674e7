#include "core/weight_layout.h"

namespace stridekit {

std::vector<float> weights_to_channels_first(const sk_conv_geometry& g, const float* weight) {
  int64_t taps = 1;
  for (int d = 0; d < g.rank; ++d) taps *= g.kernel[d];
  const int64_t outer = g.transposed ? g.in_channels : g.out_channels;  // the last TF axis
  const int64_t middle = g.transposed ? g.out_channels / g.groups : g.in_channels / g.groups;
  std::vector<float> out(static_cast<size_t>(outer * middle * taps));
  for (int64_t t = 0; t < taps; ++t) {
    for (int64_t m = 0; m < middle; ++m) {
      const float* src = weight + (t * middle + m) * outer;
      for (int64_t o = 0; o < outer; ++o) out[(o * middle + m) * taps + t] = src[o];
    }
  }
  return out;
}

}  // namespace stridekit
