// The layout of js_abi.h, exported to JavaScript as the addon's `abi` property, so that
// lib/loader.ts can compare it with lib/native-abi.ts when it loads this binary and refuse a core
// whose offsets, codes or version differ from the facade's.
#pragma once

#include <napi.h>

namespace stridekit::js {

// { version, geometry: { rank, ... }, shape: { batch, ... }, request: { geometry, shape, length },
//   activation: { none, ... }, precision: { fp32, ... } }, spelled as lib/native-abi.ts spells them.
Napi::Object abi_table(Napi::Env env);

}  // namespace stridekit::js
