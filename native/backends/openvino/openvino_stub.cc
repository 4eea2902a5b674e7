// What the openvino plugin's loader stub (native/plugin_stub/runtime_search.h) looks for: libopenvino_c,
// OpenVINO's C API, which the implementation was linked against (its soname carries the release,
// libopenvino_c.so.2530 for 2025.3). It opens libopenvino beside itself, and OpenVINO opens TBB and its
// device plugins from that same folder.
#include "runtime_search.h"

// The folder an OpenVINO archive keeps its libraries in, per processor.
#if defined(__aarch64__)
#define OPENVINO_ARCH "aarch64"
#else
#define OPENVINO_ARCH "intel64"
#endif

namespace stridekit_stub {

const Runtime& runtime() {
  static const Runtime openvino = {
      "openvino",
      "pip install openvino==" STRIDEKIT_OPENVINO_VERSION,
      {{"OpenVINO " STRIDEKIT_OPENVINO_VERSION,
        STRIDEKIT_OPENVINO_SONAME,
        "STRIDEKIT_OPENVINO_DIR",
        {"runtime/lib/" OPENVINO_ARCH, "openvino/libs", "libs", "lib"},
        {"openvino/libs"},
        {"/opt/intel/openvino/runtime/lib/" OPENVINO_ARCH, "/opt/intel/openvino_*/runtime/lib/" OPENVINO_ARCH,
         "/usr/lib/" STRIDEKIT_MULTIARCH, "/usr/lib64", "/usr/local/lib"}}}};
  return openvino;
}

}  // namespace stridekit_stub
