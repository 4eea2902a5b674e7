// The output rows whose kernel taps read padding, in GEMM tiles of their own, so that the indirect
// kernel (microkernel.h) skips those taps instead of multiplying the zeros they read.
//
// ResNet's 3 x 3 stages at stride 2 read padding with their output's top row and left column: 9.3% of
// ResNet l4's multiply-adds (a 7 x 7 output) multiply zeros, 6.4% of C3D's and 2.4% of l2's. oneDNN
// bounds its loops so as never to make them. A tile of six pixels can skip a tap only where all six
// read padding there, and consecutive pixels cross from one output row into the next. So the indirect
// GEMM takes the pixels in their own order cut into segments of one edge class each (how many taps of
// each dimension read padding before and after the input), every segment's pixels dealt evenly to
// whole tiles, filled up with empty rows: the tiles of a top row skip the taps above the input, in
// every channel. An edge tile runs over the depth steps its class keeps, listed per depth block with
// the B step each reads; the others over all of them.
//
// A segment is a run of whole output rows of one class along the outer dimensions (depth and height),
// and, where the columns' own edges skip enough (ResNet l4's left column, 4.1% of its multiply-adds),
// the pixels of those rows in one column class: the first column of every row, then the interior
// columns, row by row. Where they skip less, the columns stay together: on ResNet l2's 28-pixel rows
// (1.2%) tiles that read six input rows at once made the layer 3-5% slower.
//
// Exact: every pixel in the class of its own padded taps, columns always apart, so that no tile reads
// padding at all and the GEMM may read a small input where it lies, with no padded copy
// (conv_forward.cc, skips_padding). The edge tiles all come first, so the threads take the rows in
// runs of about equal work (row_cuts), not of equal length.
#pragma once

#include <algorithm>
#include <cstdint>

#include "backends/cpu/conv_problem.h"
#include "backends/cpu/microkernel.h"

namespace stridekit::cpu {

// Depth steps a tile multiplies in one depth block: `count` of them, step k reading A at depths[k]
// from each row's offset and B at its step b_steps[k] of the block (null: step k, every step kept).
struct DepthSteps {
  int64_t count;
  const int64_t* depths;
  const int64_t* b_steps;
};

class EdgeTiles {
 public:
  // Unused: the pixels in their own order.
  EdgeTiles() = default;

  // For the output pixels of q (an image, or a band of one) and a depth of `steps` steps, tap fastest
  // ((channel, tap), or (channel pair, tap) for bf16 words), that the GEMM takes `block_steps` at a time.
  // `exact`: every pixel in the class of its own padded taps, columns included, so that no tile reads
  // a tap in the padding at all: then the GEMM may read the input where it lies, unpadded.
  EdgeTiles(const ConvProblem& q, int64_t steps, int64_t block_steps, bool exact = false);

  // Whether the GEMM takes this order: its edge tiles skip at least 2% of the multiply-adds (exact:
  // every padded tap), and the empty rows and the lists of steps stay small beside the work.
  bool used() const { return used_; }
  // Rows of the reordered GEMM: every pixel once, and the empty rows that fill the edge classes' tiles.
  int64_t rows() const { return rows_; }
  // int64 values that build() lays out.
  int64_t values() const { return values_; }

  // Lays the order and the lists out in `memory` (values() of them), from each output pixel's input
  // offset (pixel_at, q.out_pixels of them) and each depth step's (depth_at, `steps` of them).
  void build(int64_t* memory, const int64_t* pixel_at, const int64_t* depth_at);

  // After build(), per row: the input offset the kernel reads (its pixel's; an empty row repeats the
  // first of its tile), and the output pixel it holds (-1: an empty row). Pixels keep their order.
  const int64_t* row_at() const { return row_at_; }
  const int64_t* pixel_of() const { return pixel_of_; }
  // Pixels in the tile of kMR rows starting at row `first` (a multiple of kMR), 1 to kMR: empty rows
  // only ever end a tile.
  int pixels_in(int64_t first) const { return static_cast<int>(tile_pixels_[first / kMR]); }
  // Row boundaries that cut the reordered rows into `parts` runs of whole tiles (cuts[0] = 0, cuts[parts]
  // = rows()) with about the same multiply-adds each: an even cut would give the edge tiles, which all
  // come first, to the first part, whose thread then finishes early and waits.
  void row_cuts(int64_t parts, int64_t* cuts) const;
  // The steps that tile multiplies in depth block `block`: `all` for an interior tile.
  DepthSteps steps(int64_t first, int64_t block, DepthSteps all) const {
    const int64_t c = tile_class_[first / kMR];
    if (c == 0) return all;
    const int64_t* depths = memory_ + list_at_[c];
    const int64_t* b_steps = depths + kept_[c];
    const int64_t* block_begin = b_steps + kept_[c];
    const int64_t begin = block_begin[block];
    return {block_begin[block + 1] - begin, depths + begin, b_steps + begin};
  }

 private:
  static constexpr int kMaxSpans = 8;  // distinct spans per dimension, (0, 0) included
  static constexpr int kMaxClasses = kMaxSpans * kMaxSpans * kMaxSpans;

  // Along one dimension: of a position's kernel taps, the first `low` read padding before the input
  // and the last `high` padding after it.
  struct Span {
    int64_t low, high;
  };
  Span span_at(int d, int64_t position) const;
  // The index of `s` among dimension d's spans, or -1; every column is in span 0 unless the columns
  // are split (split_columns_).
  int span_index(int d, Span s) const;
  int span_of(int d, int64_t position) const { return d == 2 && !split_columns_ ? 0 : span_index(d, span_at(d, position)); }
  // Lays the pixels out with or without the columns split, sets the sizes and whether the order is
  // used, and returns that.
  bool lay_out(bool split_columns);
  // Finds dimension d's spans, from either end (the interior positions, span (0, 0), are one run):
  // false when there are more than kMaxSpans.
  bool find_spans(int d);
  // The taps along dimension d that a position of span `span` keeps: [low, kernel - high), or none.
  int64_t kept_taps(int d, int span) const {
    return std::max<int64_t>(0, kernel_[d] - spans_[d][span].low - spans_[d][span].high);
  }
  int class_of(int s0, int s1, int s2) const { return (s0 * span_count_[1] + s1) * span_count_[2] + s2; }
  // Calls segment(first row, rows, first column, columns, class) for each segment in order: the
  // pixels of output rows [first row, + rows) (rows counted over depth and height together) in
  // columns [first column, + columns), row by row. Class 0 is the interior.
  template <class Segment>
  void for_each_segment(Segment segment) const;

  bool used_ = false;
  bool exact_ = false;
  bool split_columns_ = false;
  int64_t rows_ = 0, values_ = 0;
  int64_t steps_ = 0, block_steps_ = 0, blocks_ = 0, out_pixels_ = 0;
  int64_t out_[3] = {}, kernel_[3] = {}, stride_[3] = {}, dilation_[3] = {}, pad_[3] = {}, in_[3] = {};
  Span spans_[3][kMaxSpans] = {};
  int span_count_[3] = {};
  bool listed_[kMaxClasses] = {};      // per class: an edge class with rows, whose steps are listed
  int64_t kept_[kMaxClasses] = {};     // per class: the depth steps it keeps
  int64_t list_at_[kMaxClasses] = {};  // per listed class: where its lists start in build()'s memory

  const int64_t* row_at_ = nullptr;
  const int64_t* pixel_of_ = nullptr;
  const int64_t* tile_class_ = nullptr;
  const int64_t* tile_pixels_ = nullptr;
  const int64_t* memory_ = nullptr;
};

}  // namespace stridekit::cpu
