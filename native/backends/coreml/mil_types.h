// What a Core ML ML Program is computed in, and the IEEE half-precision rounding that an fp16 program's
// weights go through when they are written.
#pragma once

#include <cstdint>
#include <string>

namespace stridekit::coreml {

// fp32: every MIL tensor of the program is float32 (Core ML then runs it on the CPU and GPU only).
// fp16: the input is cast to float16 on entry and back on exit; weights, bias and every intermediate are
// float16, which the Neural Engine requires (and which the GPU and CPU run too).
enum class ComputePrecision { kFloat32, kFloat16 };

const char* precision_name(ComputePrecision precision);

// IEEE 754 binary16 bits of value, rounded to nearest even; overflow gives infinity, NaN stays NaN.
uint16_t to_half_bits(float value);

}  // namespace stridekit::coreml
