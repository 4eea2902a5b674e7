// OpenVINO's C API as this plugin holds it: an owner type per handle, and a check that turns a failed
// call into an exception carrying OpenVINO's message. The plugin uses the C API (libopenvino_c), not the
// C++ one, so that it shares no C++ standard library with OpenVINO: the same plugin binary loads next to
// any OpenVINO build of its release, whichever compiler and C++ library built either.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include <openvino/c/openvino.h>

namespace stridekit::openvino {

template <typename T, void (*Free)(T*)>
struct HandleFree {
  void operator()(T* handle) const {
    if (handle) Free(handle);
  }
};

using CorePtr = std::unique_ptr<ov_core_t, HandleFree<ov_core_t, ov_core_free>>;
using ModelPtr = std::unique_ptr<ov_model_t, HandleFree<ov_model_t, ov_model_free>>;
using CompiledModelPtr = std::unique_ptr<ov_compiled_model_t, HandleFree<ov_compiled_model_t, ov_compiled_model_free>>;
using InferRequestPtr = std::unique_ptr<ov_infer_request_t, HandleFree<ov_infer_request_t, ov_infer_request_free>>;
using TensorPtr = std::unique_ptr<ov_tensor_t, HandleFree<ov_tensor_t, ov_tensor_free>>;
using OutputPortPtr =
    std::unique_ptr<ov_output_const_port_t, HandleFree<ov_output_const_port_t, ov_output_const_port_free>>;

// Throws std::runtime_error("<what>: <OpenVINO's message>") unless status is OK.
inline void check(ov_status_e status, const char* what) {
  if (status == OK) return;
  const char* message = ov_get_last_err_msg();
  std::string text = message && *message ? message : ov_get_error_info(status);
  throw std::runtime_error(std::string(what) + ": " + text);
}

// A string OpenVINO allocated (ov_core_get_property), copied and freed.
inline std::string take_string(char* value) {
  std::string out = value ? value : "";
  if (value) ov_free(value);
  return out;
}

}  // namespace stridekit::openvino
