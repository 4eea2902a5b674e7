#include "backends/cpu/edge_tiles.h"

namespace stridekit::cpu {

namespace {

// Rows that hold `pixels` in whole tiles.
int64_t whole_tiles(int64_t pixels) { return (pixels + kMR - 1) / kMR * kMR; }

}  // namespace

EdgeTiles::EdgeTiles(const ConvProblem& q, int64_t steps, int64_t block_steps)
    : steps_(steps),
      block_steps_(block_steps),
      blocks_((steps + block_steps - 1) / block_steps),
      out_pixels_(q.out_pixels) {
  for (int d = 0; d < 3; ++d) out_[d] = q.out[d], kernel_[d] = q.kernel[d];
  for (int d = 0; d < 2; ++d) {
    stride_[d] = q.stride[d], dilation_[d] = q.dilation[d], pad_[d] = q.pad[d], in_[d] = q.in[d];
  }
  // The spans of each outer dimension. Along a dimension, the taps a position reads before the input
  // only shrink as it moves on, and those after it only grow: the interior positions (span (0, 0))
  // are one run, and the edge positions are found from either end.
  for (int d = 0; d < 2; ++d) {
    spans_[d][0] = {0, 0};
    span_count_[d] = 1;
    auto add = [&](int64_t position) {
      const Span s = span_at(d, position);
      if (span_index(d, s) >= 0) return true;
      if (span_count_[d] == kMaxSpans) return false;
      spans_[d][span_count_[d]++] = s;
      return true;
    };
    int64_t begin = 0, end = out_[d];
    for (; begin < end && span_index(d, span_at(d, begin)) != 0; ++begin) {
      if (!add(begin)) return;  // too many kinds of edge: unused
    }
    for (; end > begin && span_index(d, span_at(d, end - 1)) != 0; --end) {
      if (!add(end - 1)) return;
    }
  }
  const int64_t channels = steps / (kernel_[0] * kernel_[1] * kernel_[2]);
  for (int s0 = 0; s0 < span_count_[0]; ++s0) {
    for (int s1 = 0; s1 < span_count_[1]; ++s1) {
      kept_[s0 * span_count_[1] + s1] = channels * kept_taps(0, s0) * kept_taps(1, s1) * kernel_[2];
    }
  }
  int64_t listed = 0, skipped = 0;  // skipped: the steps of each pixel that its tile does not multiply
  for_each_segment([&](int64_t, int64_t pixels, int c) {
    rows_ += whole_tiles(pixels);
    skipped += pixels * (steps_ - kept_[c]);
    if (c == 0 || listed_[c]) return;
    listed_[c] = true;
    listed += kept_[c];
    values_ += 2 * kept_[c] + blocks_ + 1;
  });
  // Empty rows cost a share of the loads of the tiles they end, lists their writing and reading, and
  // the edge tiles finish early while the others keep their threads no shorter: worth it where at
  // least 2% of the multiply-adds are skipped (ResNet l2 skips 1.2% of its and ran 1-3% slower so),
  // and the empty rows and the lists stay small beside the output and the depth.
  used_ = skipped * 50 >= out_pixels_ * steps_ && (rows_ - out_pixels_) * 8 <= out_pixels_ && listed <= 8 * steps_;
  values_ += 2 * rows_ + 2 * (rows_ / kMR);
}

EdgeTiles::Span EdgeTiles::span_at(int d, int64_t position) const {
  // Tap t reads input coordinate first + t * dilation: padding below 0 and from in on.
  const int64_t first = position * stride_[d] - pad_[d], k = kernel_[d];
  const int64_t low = std::clamp<int64_t>(ceil_div(-first, dilation_[d]), 0, k);
  const int64_t inside_end = std::clamp<int64_t>(ceil_div(in_[d] - first, dilation_[d]), 0, k);
  return {low, k - inside_end};
}

int EdgeTiles::span_index(int d, Span s) const {
  for (int i = 0; i < span_count_[d]; ++i) {
    if (spans_[d][i].low == s.low && spans_[d][i].high == s.high) return i;
  }
  return -1;
}

template <class Segment>
void EdgeTiles::for_each_segment(Segment segment) const {
  int64_t first = 0, pixels = 0;
  int current = -1;
  for (int64_t od = 0; od < out_[0]; ++od) {
    const int s0 = span_index(0, span_at(0, od));
    for (int64_t oh = 0; oh < out_[1]; ++oh) {
      const int c = s0 * span_count_[1] + span_index(1, span_at(1, oh));
      if (c != current && pixels > 0) segment(first, pixels, current), first += pixels, pixels = 0;
      current = c;
      pixels += out_[2];
    }
  }
  if (pixels > 0) segment(first, pixels, current);
}

void EdgeTiles::build(int64_t* memory, const int64_t* pixel_at, const int64_t* depth_at) {
  const int64_t tiles = rows_ / kMR;
  int64_t* row_at = memory;
  int64_t* pixel_of = row_at + rows_;
  int64_t* tile_class = pixel_of + rows_;
  int64_t* tile_pixels = tile_class + tiles;
  int64_t* lists = tile_pixels + tiles;
  memory_ = memory;
  row_at_ = row_at, pixel_of_ = pixel_of, tile_class_ = tile_class, tile_pixels_ = tile_pixels;

  // Each segment's pixels, then its empty rows, and its tiles' class and pixels.
  int64_t row = 0;
  for_each_segment([&](int64_t first, int64_t pixels, int c) {
    const int64_t begin = row, end = begin + pixels;
    for (int64_t pixel = first; row < end; ++row, ++pixel) row_at[row] = pixel_at[pixel], pixel_of[row] = pixel;
    for (; row < begin + whole_tiles(pixels); ++row) row_at[row] = row_at[row - row % kMR], pixel_of[row] = -1;
    for (int64_t r = begin; r < end; r += kMR) {
      tile_class[r / kMR] = c;
      tile_pixels[r / kMR] = std::min<int64_t>(kMR, end - r);
    }
  });
  // Each edge class's steps, block by block: those whose tap reads inside the input along both outer
  // dimensions, for every row of the class (along the rows every tap is kept), channel by channel.
  const int64_t taps = kernel_[0] * kernel_[1] * kernel_[2], channels = steps_ / taps;
  for (int c = 1; c < span_count_[0] * span_count_[1]; ++c) {
    if (!listed_[c]) continue;
    const Span outer = spans_[0][c / span_count_[1]], inner = spans_[1][c % span_count_[1]];
    list_at_[c] = lists - memory;
    int64_t* depths = lists;
    int64_t* b_steps = depths + kept_[c];
    int64_t* block_begin = b_steps + kept_[c];
    int64_t n = 0, block = 0;  // block_begin is set up to `block`
    for (int64_t channel = 0; channel < channels; ++channel) {
      for (int64_t td = outer.low; td < kernel_[0] - outer.high; ++td) {
        for (int64_t th = inner.low; th < kernel_[1] - inner.high; ++th) {
          const int64_t row = channel * taps + (td * kernel_[1] + th) * kernel_[2];
          for (int64_t k = row; k < row + kernel_[2]; ++k, ++n) {
            while (block * block_steps_ <= k) block_begin[block++] = n;
            depths[n] = depth_at[k];
            b_steps[n] = k - (block - 1) * block_steps_;
          }
        }
      }
    }
    while (block <= blocks_) block_begin[block++] = n;
    lists = block_begin + blocks_ + 1;
  }
}

}  // namespace stridekit::cpu
