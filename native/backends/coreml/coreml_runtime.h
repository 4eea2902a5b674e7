// The only part of the coreml backend that calls Core ML (coreml_runtime.mm, Objective-C++, macOS): the
// compute units and cache directory of this process, compiling a model specification into the cache,
// loading it, and one prediction on the caller's buffers. The interface is plain C++ so that the table and
// the plans stay portable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "compute_units.h"
#include "model_package.h"

namespace stridekit::coreml {

// Reads STRIDEKIT_COREML_UNITS and checks that this macOS runs ML Programs (macOS 12, or 13 for
// cpuAndNeuralEngine). False with a reason when not; device names the units and the machine.
bool open_runtime(std::string* device, std::string* reason);

// The units open_runtime() chose.
ComputeUnits runtime_units();

struct LoadedModel;  // an MLModel, loaded with the runtime's compute units

// The compiled model from the cache (STRIDEKIT_COREML_CACHE, else ~/Library/Caches/stridekit-coreml;
// the policy is model_cache.h's), compiled with MLModel compileModelAtURL: first when absent, waiting at
// most a bounded time on the calling thread. Throws std::runtime_error with Core ML's message when it
// refuses or the compile times out.
std::shared_ptr<LoadedModel> load_model(const Model& model);

// y = model(x): dense float32 tensors of the given shapes. x and y are wrapped as MLMultiArrays without a
// copy (y as the prediction's output backing); y is copied only when Core ML writes elsewhere.
void predict(LoadedModel& model, const std::vector<int64_t>& x_shape, const float* x,
             const std::vector<int64_t>& y_shape, float* y);

}  // namespace stridekit::coreml
