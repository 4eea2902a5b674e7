// A Core ML model package on disk (.mlpackage: Manifest.json, Data/com.apple.CoreML/model.mlmodel and
// Data/com.apple.CoreML/weights/weight.bin, laid out as coremltools' package writer lays them out), the
// form in which Core ML compiles an ML Program, and the hash that names a compiled model in the cache.
// Portable: the macOS plugin writes its models with it, the Linux test reads them back with coremltools.
#pragma once

#include <cstdint>
#include <string>

namespace stridekit::coreml {

// An ML Program as the package holds it: the specification, whose large constants point into the weight
// file by offset, and that file (MIL blob storage; empty when no constant is large enough for it).
struct Model {
  std::string spec;
  std::string weights;
};

// 64-bit FNV-1a of the specification and the weight file, as 16 hex digits: equal models share a cache
// entry, and models that differ only in their weights' values do not.
std::string model_hash(const Model& model);

// Writes package_dir (created, or overwritten): the specification, the weights folder (registered in
// Manifest.json, as coremltools registers it) with weight.bin inside when the model has one. Throws
// std::runtime_error on an I/O failure.
void write_model_package(const std::string& package_dir, const Model& model);

}  // namespace stridekit::coreml
