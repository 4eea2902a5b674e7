#include "backends/cpu/edge_tiles.h"

#include <cstdlib>
#include <iterator>

namespace stridekit::cpu {

namespace {

// Rows that hold `pixels` in whole tiles.
int64_t whole_tiles(int64_t pixels) { return (pixels + kMR - 1) / kMR * kMR; }

}  // namespace

EdgeTiles::EdgeTiles(const ConvProblem& q, int64_t steps, int64_t block_steps, bool exact)
    : exact_(exact),
      steps_(steps),
      block_steps_(block_steps),
      blocks_((steps + block_steps - 1) / block_steps),
      out_pixels_(q.out_pixels) {
  for (int d = 0; d < 3; ++d) {
    out_[d] = q.out[d], kernel_[d] = q.kernel[d], stride_[d] = q.stride[d], dilation_[d] = q.dilation[d];
    pad_[d] = q.pad[d], in_[d] = q.in[d];
  }
  for (int d = 0; d < 2; ++d) {
    if (!find_spans(d)) return;  // too many kinds of edge: unused
  }
  if (exact) {
    if (find_spans(2)) lay_out(true);
    return;
  }
  // The columns take classes of their own where their edges alone skip at least 2% of a row's taps,
  // and the order then still passes the test below: a narrow output's edge columns may fill more
  // empty rows than that allows, and its rows are then taken whole as they are otherwise.
  int64_t column_skips = 0;
  const bool columns_found = find_spans(2);
  for (int64_t ow = 0; columns_found && ow < out_[2]; ++ow) {
    column_skips += kernel_[2] - kept_taps(2, span_index(2, span_at(2, ow)));
  }
  if (columns_found && column_skips * 50 >= out_[2] * kernel_[2] && lay_out(true)) return;
  lay_out(false);
}

bool EdgeTiles::lay_out(bool split_columns) {
  split_columns_ = split_columns;
  if (!split_columns) span_count_[2] = 1;  // span 0, (0, 0): every column keeps every tap
  rows_ = values_ = 0;
  std::fill(std::begin(listed_), std::end(listed_), false);
  const int64_t channels = steps_ / (kernel_[0] * kernel_[1] * kernel_[2]);
  for (int s0 = 0; s0 < span_count_[0]; ++s0) {
    for (int s1 = 0; s1 < span_count_[1]; ++s1) {
      for (int s2 = 0; s2 < span_count_[2]; ++s2) {
        kept_[class_of(s0, s1, s2)] = channels * kept_taps(0, s0) * kept_taps(1, s1) * kept_taps(2, s2);
      }
    }
  }
  int64_t listed = 0, skipped = 0;  // skipped: the steps of each pixel that its tile does not multiply
  for_each_segment([&](int64_t, int64_t rows, int64_t, int64_t columns, int c) {
    const int64_t pixels = rows * columns;
    rows_ += whole_tiles(pixels);
    skipped += pixels * (steps_ - kept_[c]);
    if (c == 0 || listed_[c]) return;
    listed_[c] = true;
    listed += kept_[c];
    values_ += 2 * kept_[c] + blocks_ + 1;
  });
  // Empty rows cost a share of the loads of the tiles they end, and lists their writing and reading:
  // worth it where at least 2% of the multiply-adds are skipped (ResNet l2 skips 1.2% of its and ran
  // 1-3% slower so; with the threads' rows cut by work, row_cuts, within 1.5%), or where the input is read
  // unpadded (exact), and the empty rows and the lists stay small beside the output and the depth.
  used_ = (exact_ || skipped * 50 >= out_pixels_ * steps_) && (rows_ - out_pixels_) * 8 <= out_pixels_ &&
          listed <= 8 * steps_;
  values_ += 2 * rows_ + 2 * (rows_ / kMR);
  return used_;
}

bool EdgeTiles::find_spans(int d) {
  // Along a dimension, the taps a position reads before the input only shrink as it moves on, and
  // those after it only grow: the edge positions are found from either end.
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
    if (!add(begin)) return false;
  }
  for (; end > begin && span_index(d, span_at(d, end - 1)) != 0; --end) {
    if (!add(end - 1)) return false;
  }
  return true;
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
  // Each run of whole output rows of one outer class, then within it each run of columns of one
  // column span: all of them at once unless the columns are split, and unless some run of columns
  // would not fill a tile (ResNet l4's top row: its corner alone would take a tile of one row, which
  // streams as much of B as a full one). Its pixels then keep the row's class and read their few
  // padded taps.
  auto column_runs = [&](auto run) {  // run(first column, columns, span) for each run of one span
    for (int64_t first = 0, ow = 0; ow < out_[2]; first = ow) {
      const int s2 = span_of(2, first);
      while (ow < out_[2] && span_of(2, ow) == s2) ++ow;
      run(first, ow - first, s2);
    }
  };
  auto columns_of = [&](int64_t first_row, int64_t rows, int outer) {
    bool split = split_columns_;
    if (split && !exact_) column_runs([&](int64_t, int64_t columns, int) { split = split && rows * columns >= kMR; });
    if (!split) return segment(first_row, rows, 0, out_[2], outer * span_count_[2]);
    column_runs([&](int64_t first, int64_t columns, int s2) {
      segment(first_row, rows, first, columns, outer * span_count_[2] + s2);
    });
  };
  int64_t first = 0, row = 0;
  int current = -1;
  for (int64_t od = 0; od < out_[0]; ++od) {
    const int s0 = span_of(0, od);
    for (int64_t oh = 0; oh < out_[1]; ++oh, ++row) {
      const int outer = s0 * span_count_[1] + span_of(1, oh);
      if (outer != current && row > first) columns_of(first, row - first, current), first = row;
      current = outer;
    }
  }
  if (row > first) columns_of(first, row - first, current);
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

  // Each segment's pixels in its tiles, as evenly as they go (7 pixels: 4 and 3, not 6 and 1: a tile
  // of one or two rows streams as much of B as a full one), each tile's empty rows after its pixels.
  int64_t row = 0;
  for_each_segment([&](int64_t first_row, int64_t rows, int64_t first_column, int64_t columns, int c) {
    const int64_t pixels = rows * columns, tiles = (pixels + kMR - 1) / kMR;
    for (int64_t t = 0, placed = 0; t < tiles; ++t) {
      const int64_t count = pixels / tiles + (t < pixels % tiles ? 1 : 0);
      tile_class[row / kMR] = c;
      tile_pixels[row / kMR] = count;
      for (int64_t i = 0; i < kMR; ++i, ++row) {
        if (i >= count) {
          row_at[row] = row_at[row - i], pixel_of[row] = -1;
          continue;
        }
        const int64_t k = placed + i;
        const int64_t pixel = (first_row + k / columns) * out_[2] + first_column + k % columns;
        row_at[row] = pixel_at[pixel], pixel_of[row] = pixel;
      }
      placed += count;
    }
  });
  // Each edge class's steps, block by block: those whose tap reads inside the input along every
  // dimension, for every pixel of the class, channel by channel.
  const int64_t taps = kernel_[0] * kernel_[1] * kernel_[2], channels = steps_ / taps;
  for (int c = 1; c < span_count_[0] * span_count_[1] * span_count_[2]; ++c) {
    if (!listed_[c]) continue;
    const int outer = c / span_count_[2];
    const Span along[3] = {spans_[0][outer / span_count_[1]], spans_[1][outer % span_count_[1]],
                           spans_[2][c % span_count_[2]]};
    list_at_[c] = lists - memory;
    int64_t* depths = lists;
    int64_t* b_steps = depths + kept_[c];
    int64_t* block_begin = b_steps + kept_[c];
    int64_t n = 0, block = 0;  // block_begin is set up to `block`
    for (int64_t channel = 0; channel < channels; ++channel) {
      for (int64_t td = along[0].low; td < kernel_[0] - along[0].high; ++td) {
        for (int64_t th = along[1].low; th < kernel_[1] - along[1].high; ++th) {
          const int64_t row = channel * taps + (td * kernel_[1] + th) * kernel_[2];
          for (int64_t k = row + along[2].low; k < row + kernel_[2] - along[2].high; ++k, ++n) {
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

void EdgeTiles::row_cuts(int64_t parts, int64_t* cuts) const {
  // A tile's work: its pixels times the steps its class keeps (kept_[0], the interior's, is all of them).
  const int64_t tiles = rows_ / kMR;
  auto work = [&](int64_t tile) { return tile_pixels_[tile] * kept_[tile_class_[tile]]; };
  int64_t total = 0;
  for (int64_t tile = 0; tile < tiles; ++tile) total += work(tile);
  int64_t tile = 0, done = 0;
  cuts[0] = 0;
  for (int64_t part = 1; part < parts; ++part) {
    // A tile at least, then on while that brings the work done nearer to this part's share, leaving
    // each later part a tile at least.
    const int64_t share = total * part / parts, last = tiles - (parts - part);
    if (tile < last) done += work(tile++);
    while (tile < last && std::abs(done + work(tile) - share) <= std::abs(done - share)) done += work(tile++);
    cuts[part] = tile * kMR;
  }
  cuts[parts] = rows_;
}

}  // namespace stridekit::cpu
