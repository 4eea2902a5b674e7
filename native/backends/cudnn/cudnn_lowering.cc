// The cuDNN lowering of one convolution: which symmetric pad cuDNN gets, which boxes are copied where.
// Pure arithmetic, no CUDA: see cudnn_lowering.h for the scheme and test/cudnn-lowering.test.js for its
// check against a direct convolution.
#include "cudnn_lowering.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace stridekit::cudnn {
namespace {

// One spatial dimension as cuDNN sees it (rank 1 has a lifted unit dimension in front).
struct Axis {
  int64_t in = 1, out = 1, kernel = 1, stride = 1, dilation = 1, pad_begin = 0, pad_end = 0;
};

// Dense strides for dims (N, C, spatial...) in either layout.
void set_dense_strides(TensorView& view, bool channels_last) {
  const int r = view.rank;
  if (!channels_last) {
    view.strides[r - 1] = 1;
    for (int i = r - 2; i >= 0; --i) view.strides[i] = view.strides[i + 1] * view.dims[i + 1];
    return;
  }
  // (N, spatial..., C) in memory: C innermost, then the spatial dimensions, then N.
  view.strides[1] = 1;
  int64_t step = view.dims[1];
  for (int i = r - 1; i >= 2; --i) {
    view.strides[i] = step;
    step *= view.dims[i];
  }
  view.strides[0] = step;
}

TensorView dense_view(int64_t batch, int64_t channels, const int64_t* sizes, int spatial, bool channels_last) {
  TensorView view;
  view.rank = 2 + spatial;
  view.dims[0] = batch;
  view.dims[1] = channels;
  for (int i = 0; i < spatial; ++i) view.dims[2 + i] = sizes[i];
  set_dense_strides(view, channels_last);
  return view;
}

int64_t element_count(const TensorView& view) {
  int64_t n = 1;
  for (int i = 0; i < view.rank; ++i) n *= view.dims[i];
  return n;
}

// A view with the dims of `box` laid over `over`'s strides, starting at origin (per spatial dimension).
TensorView window(const TensorView& over, const int64_t* box_dims, const int64_t* origin, int spatial) {
  TensorView view = over;
  for (int i = 0; i < 2 + spatial; ++i) view.dims[i] = box_dims[i];
  view.offset = over.offset;
  for (int i = 0; i < spatial; ++i) view.offset += origin[i] * over.strides[2 + i];
  return view;
}

constexpr int64_t kNoOrigin[SK_MAX_RANK] = {0, 0, 0};

// Calls piece(copy piece, index of its first element) for copy cut along every dimension longer than
// max_dim into pieces of at most max_dim elements.
template <typename Piece>
void for_each_piece(const BoxCopy& copy, int64_t max_dim, Piece&& piece, int from_dim = 0,
                    const int64_t* start = nullptr) {
  int64_t first[kMaxTensorRank] = {};
  if (start) std::copy(start, start + kMaxTensorRank, first);
  for (int i = from_dim; i < copy.source.rank; ++i) {
    if (copy.source.dims[i] <= max_dim) continue;
    for (int64_t begin = 0; begin < copy.source.dims[i]; begin += max_dim) {
      BoxCopy part = copy;
      part.source.dims[i] = part.destination.dims[i] = std::min(max_dim, copy.source.dims[i] - begin);
      part.source.offset += begin * copy.source.strides[i];
      part.destination.offset += begin * copy.destination.strides[i];
      int64_t part_first[kMaxTensorRank];
      std::copy(first, first + kMaxTensorRank, part_first);
      part_first[i] += begin;
      for_each_piece(part, max_dim, piece, i + 1, part_first);
    }
    return;
  }
  piece(copy, first);
}

void append_in_pieces(std::vector<BoxCopy>& copies, const BoxCopy& copy, int64_t max_dim) {
  for_each_piece(copy, max_dim, [&](const BoxCopy& part, const int64_t*) { copies.push_back(part); });
}

void check_fits_int32(const TensorView& view, const char* what) {
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  int64_t reach = 0;  // the largest element index the view touches, relative to its offset
  for (int i = 0; i < view.rank; ++i) {
    if (view.dims[i] > kMax || view.strides[i] > kMax) {
      throw std::length_error(std::string(what) + " " + describe(view) + " does not fit cuDNN's 32-bit descriptors");
    }
    reach += (view.dims[i] - 1) * view.strides[i];
  }
  if (reach > kMax) {
    throw std::length_error(std::string(what) + " " + describe(view) + " has more than 2^31 elements");
  }
}

}  // namespace

std::string describe(const TensorView& view) {
  std::string text = "dims [";
  for (int i = 0; i < view.rank; ++i) text += (i ? "," : "") + std::to_string(view.dims[i]);
  text += "] strides [";
  for (int i = 0; i < view.rank; ++i) text += (i ? "," : "") + std::to_string(view.strides[i]);
  return text + "] offset " + std::to_string(view.offset);
}

int lower_filter(const sk_conv_geometry& g, int64_t dims[kMaxTensorRank]) {
  const int spatial = std::max(2, static_cast<int>(g.rank));
  const int lifted = spatial - g.rank;
  dims[0] = g.transposed ? g.in_channels : g.out_channels;
  dims[1] = (g.transposed ? g.out_channels : g.in_channels) / g.groups;
  for (int j = 0; j < spatial; ++j) dims[2 + j] = j < lifted ? 1 : g.kernel[j - lifted];
  for (int i = 0; i < 2 + spatial; ++i) {
    if (dims[i] < 1 || dims[i] > std::numeric_limits<int32_t>::max()) {
      throw std::length_error("filter dimension " + std::to_string(i) + " (" + std::to_string(dims[i]) +
                              ") does not fit cuDNN's 32-bit descriptors");
    }
  }
  return 2 + spatial;
}

Lowering lower_convolution(const sk_conv_geometry& g, const sk_conv_shape& shape, int64_t max_copy_dim) {
  if (max_copy_dim < 1) throw std::invalid_argument("max_copy_dim must be positive");
  Lowering L;
  L.filter_rank = lower_filter(g, L.filter_dims);
  L.transposed = g.transposed != 0;
  L.half = g.precision == SK_PRECISION_FP16;
  L.groups = g.groups;
  L.spatial = std::max(2, static_cast<int>(g.rank));
  const int lifted = L.spatial - g.rank;  // 1 for rank 1: a unit dimension in front
  const bool channels_last = g.layout == SK_LAYOUT_CHANNELS_LAST;

  Axis axes[SK_MAX_RANK];
  for (int i = 0; i < g.rank; ++i) {
    Axis& a = axes[lifted + i];
    a.in = shape.in_size[i];
    a.out = shape.out_size[i];
    a.kernel = g.kernel[i];
    a.stride = g.stride[i];
    a.dilation = g.dilation[i];
    a.pad_begin = shape.pad_begin[i];
    a.pad_end = shape.pad_end[i];
  }

  const int64_t in_channels = g.in_channels, out_channels = g.out_channels;

  int64_t in_sizes[SK_MAX_RANK], out_sizes[SK_MAX_RANK];
  int64_t staged_sizes[SK_MAX_RANK], staged_origin[SK_MAX_RANK];  // forward: x inside its zero border
  int64_t result_sizes[SK_MAX_RANK], crop_origin[SK_MAX_RANK];    // transposed: cuDNN's dx, y's window
  int64_t copied_sizes[SK_MAX_RANK];                              // transposed: the part of y it covers
  bool border = false, cropped = false, uncovered = false, nothing_copied = false;
  for (int j = 0; j < L.spatial; ++j) {
    const Axis& a = axes[j];
    const int64_t extent = (a.kernel - 1) * a.dilation + 1;
    in_sizes[j] = a.in;
    out_sizes[j] = a.out;
    L.stride[j] = a.stride;
    L.dilation[j] = a.dilation;
    if (!L.transposed) {
      // A pad of at least the kernel's extent only adds outputs made of padding; cuDNN's algorithms are
      // not all happy with it, so that part goes into the explicit border too.
      const int64_t p = std::min({a.pad_begin, a.pad_end, extent - 1});
      L.pad[j] = p;
      staged_origin[j] = a.pad_begin - p;
      staged_sizes[j] = a.in + (a.pad_begin - p) + (a.pad_end - p);
      border = border || staged_sizes[j] != a.in;
      if ((staged_sizes[j] + 2 * p - extent) / a.stride + 1 != a.out || staged_sizes[j] + 2 * p < extent) {
        throw std::invalid_argument("output size " + std::to_string(a.out) + " does not follow from input " +
                                    std::to_string(a.in) + " and pads " + std::to_string(a.pad_begin) + "," +
                                    std::to_string(a.pad_end) + " in spatial dimension " + std::to_string(j));
      }
    } else {
      const int64_t full = (a.in - 1) * a.stride + extent;  // the transposed result before any crop
      const int64_t output_padding = a.out - (full - a.pad_begin - a.pad_end);
      if (output_padding < 0) {
        throw std::invalid_argument("transposed output size " + std::to_string(a.out) + " is below " +
                                    std::to_string(full) + " - pads in spatial dimension " + std::to_string(j));
      }
      // The symmetric crop p may not reach into y's window at either end (outputPadding eats into the end
      // pad first), and cuDNN's result must keep at least one element.
      const int64_t p = std::max<int64_t>(
          0, std::min({a.pad_begin, a.pad_end - output_padding, extent - 1, (full - 1) / 2}));
      L.pad[j] = p;
      result_sizes[j] = full - 2 * p;
      crop_origin[j] = a.pad_begin - p;
      copied_sizes[j] = std::clamp<int64_t>(result_sizes[j] - crop_origin[j], 0, a.out);
      cropped = cropped || crop_origin[j] != 0 || result_sizes[j] != a.out;
      uncovered = uncovered || copied_sizes[j] != a.out;
      nothing_copied = nothing_copied || copied_sizes[j] == 0;
    }
  }

  L.user_x = dense_view(shape.batch, in_channels, in_sizes, L.spatial, channels_last);
  L.user_y = dense_view(shape.batch, out_channels, out_sizes, L.spatial, channels_last);
  L.user_x_elements = element_count(L.user_x);
  L.user_y_elements = element_count(L.user_y);

  const bool stage_input = L.half || channels_last || (!L.transposed && border);
  const bool stage_output = L.half || channels_last || (L.transposed && cropped);

  if (stage_input) {
    const int64_t* sizes = L.transposed ? in_sizes : staged_sizes;
    const TensorView staged = dense_view(shape.batch, in_channels, sizes, L.spatial, false);
    L.staged_x_elements = element_count(staged);
    L.zero_staged_x = !L.transposed && border;
    append_in_pieces(L.input_copies,
                     {Buffer::kUserX, Buffer::kStagedX, L.user_x,
                      window(staged, L.user_x.dims, L.transposed ? kNoOrigin : staged_origin, L.spatial)},
                     max_copy_dim);
    L.conv_input_buffer = Buffer::kStagedX;
    L.conv_input = staged;
  } else {
    L.conv_input_buffer = Buffer::kUserX;
    L.conv_input = L.user_x;  // channels-first, dense, no border: cuDNN reads x itself
  }

  if (stage_output) {
    const int64_t* sizes = L.transposed ? result_sizes : out_sizes;
    const TensorView result = dense_view(shape.batch, out_channels, sizes, L.spatial, false);
    L.conv_y_elements = element_count(result);
    L.conv_output_buffer = Buffer::kConvY;
    L.conv_output = result;
    if (!L.transposed) {
      append_in_pieces(L.output_copies,
                       {Buffer::kConvY, Buffer::kUserY, window(result, L.user_y.dims, kNoOrigin, L.spatial), L.user_y},
                       max_copy_dim);
    } else {
      int64_t box[kMaxTensorRank] = {shape.batch, out_channels};
      for (int j = 0; j < L.spatial; ++j) box[2 + j] = copied_sizes[j];
      L.zero_user_y = uncovered;
      // The window's first element is y's first element.
      if (!nothing_copied) {
        append_in_pieces(L.output_copies,
                         {Buffer::kConvY, Buffer::kUserY, window(result, box, crop_origin, L.spatial),
                          window(L.user_y, box, kNoOrigin, L.spatial)},
                         max_copy_dim);
      }
    }
  } else {
    L.conv_output_buffer = Buffer::kUserY;
    L.conv_output = L.user_y;
  }

  // y itself, in pieces, for bias and activation; each piece takes the bias slice of its channels.
  for_each_piece({Buffer::kUserY, Buffer::kUserY, L.user_y, L.user_y}, max_copy_dim,
                 [&](const BoxCopy& part, const int64_t* first) { L.output_pieces.push_back({part.source, first[1]}); });

  check_fits_int32(L.user_x, "input");
  check_fits_int32(L.user_y, "output");
  check_fits_int32(L.conv_input, "convolution input");
  check_fits_int32(L.conv_output, "convolution output");
  return L;
}

}  // namespace stridekit::cudnn
