// Offsets into the two Float64Arrays the TypeScript facade hands the core (a one-shot call hands
// both in one array, geometry first: the "request"). lib/native-abi.ts is the facade's side of the
// same table: the addon exports these constants as its `abi` property (js_abi_export.cc), and
// lib/loader.ts refuses a binary whose table or version differs from the facade's, so the two
// cannot drift apart unnoticed.
#pragma once

namespace stridekit::js {

namespace geometry {
constexpr int kRank = 0, kTransposed = 1, kLayout = 2, kActivation = 3, kGroups = 4,
              kInChannels = 5, kOutChannels = 6, kKernel = 7, kStride = 10, kDilation = 13,
              kWeightLayout = 16, kPrecision = 17, kLength = 18;
}  // namespace geometry

namespace shape {
constexpr int kBatch = 0, kInSize = 1, kOutSize = 4, kPadBegin = 7, kPadEnd = 10, kLength = 13;
}  // namespace shape

// The version of this facade <-> core surface, exported as abi.version; loader.ts refuses a core
// whose version differs from lib/native-abi.ts ABI_VERSION.
constexpr int kFacadeAbiVersion = 6;

}  // namespace stridekit::js
