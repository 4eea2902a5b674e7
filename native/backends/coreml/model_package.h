// A Core ML model package on disk (.mlpackage: Manifest.json + Data/com.apple.CoreML/model.mlmodel), the
// form in which Core ML compiles an ML Program, and the hash that names a compiled model in the cache.
// Portable: the macOS plugin writes its models with it, the Linux test reads them back with coremltools.
#pragma once

#include <cstdint>
#include <string>

namespace stridekit::coreml {

// 64-bit FNV-1a of the serialised specification, as 16 hex digits: equal models share a cache entry.
std::string model_hash(const std::string& spec);

// Writes package_dir (created, or overwritten) with the specification inside. The weights are embedded in
// the specification, so the package has no weights folder. Throws std::runtime_error on an I/O failure.
void write_model_package(const std::string& package_dir, const std::string& spec);

}  // namespace stridekit::coreml
