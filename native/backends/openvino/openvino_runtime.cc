// Opens the OpenVINO runtime once (at probe time) and decides how models are compiled.
#include "openvino_runtime.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <memory>
#include <sstream>
#include <vector>

#include <openvino/core/version.hpp>
#include <openvino/runtime/properties.hpp>

namespace stridekit::openvino {
namespace {

Runtime g_runtime;

std::string requested_device() {
  const char* env = std::getenv("STRIDEKIT_OPENVINO_DEVICE");
  return env && *env ? std::string(env) : std::string("CPU");
}

// STRIDEKIT_NUM_THREADS as the inference thread count; 0 when unset or not a positive integer. The
// facade refuses a value the CPU backend would not take before any backend is loaded.
int requested_threads() {
  const char* env = std::getenv("STRIDEKIT_NUM_THREADS");
  if (!env) return 0;
  char* end = nullptr;
  long n = std::strtol(env, &end, 10);
  if (end == env || *end != '\0' || n <= 0) return 0;
  return static_cast<int>(std::min(n, 1024L));
}

// "2025.3.0" from "2025.3.0-19807-44526285f24-releases/2025/3".
std::string openvino_version() {
  std::string build = ov::get_openvino_version().buildNumber;
  return build.substr(0, build.find('-'));
}

bool device_listed(const std::vector<std::string>& available, const std::string& device) {
  if (std::find(available.begin(), available.end(), device) != available.end()) return true;
  // "GPU" names the first GPU when the list says "GPU.0", "GPU.1", ...
  return std::any_of(available.begin(), available.end(),
                     [&](const std::string& name) { return name.rfind(device + ".", 0) == 0; });
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

}  // namespace

ov::AnyMap compile_config(const ov::Core& core, const std::string& device, int threads) {
  std::vector<ov::PropertyName> supported;
  try {
    supported = core.get_property(device, ov::supported_properties);
  } catch (const std::exception&) {
    return {};  // a meta-device (AUTO:..., HETERO:...) may not answer: compile with its defaults
  }
  auto accepts = [&](const std::string& key) {
    return std::any_of(supported.begin(), supported.end(),
                       [&](const ov::PropertyName& p) { return p == key && p.is_mutable(); });
  };
  ov::AnyMap config;
  // One request at a time per compiled model, as the core runs a plan: latency, not throughput.
  if (accepts(ov::hint::performance_mode.name())) {
    config.emplace(ov::hint::performance_mode(ov::hint::PerformanceMode::LATENCY));
  }
  // CPUs with bf16/AMX and GPUs would otherwise run in bf16/f16; the contract is float32 results.
  if (accepts(ov::hint::inference_precision.name())) {
    config.emplace(ov::hint::inference_precision(ov::element::f32));
  }
  if (threads > 0 && accepts(ov::inference_num_threads.name())) {
    config.emplace(ov::inference_num_threads(threads));
  }
  return config;
}

std::string tidy_message(const std::string& what) {
  std::istringstream lines(what);
  std::string line, out;
  while (std::getline(lines, line)) {
    if (line.empty() || line.rfind("Exception from ", 0) == 0) continue;
    out += (out.empty() ? "" : " ") + line;
  }
  return out.empty() ? what : out;
}

bool open_runtime(std::string* description, std::string* reason) {
  const std::string device = requested_device();
  try {
    auto core = std::make_unique<ov::Core>();
    const std::vector<std::string> available = core->get_available_devices();
    if (!device_listed(available, device)) {
      const bool meta = device.rfind("AUTO", 0) == 0 || device.rfind("HETERO", 0) == 0 ||
                        device.rfind("MULTI", 0) == 0;
      if (!meta) {
        *reason = "OpenVINO " + openvino_version() + " has no device " + device +
                  " (STRIDEKIT_OPENVINO_DEVICE); available: " + join(available);
        return false;
      }
    }
    std::string name = device;
    try {
      name = device + ": " + core->get_property(device, ov::device::full_name);
    } catch (const std::exception&) {
      // a meta-device has no full name of its own
    }
    const int threads = requested_threads();
    g_runtime.compile_config = compile_config(*core, device, threads);
    g_runtime.device = device;
    g_runtime.core = core.release();
    // The device chosen, then every device this OpenVINO lists (STRIDEKIT_OPENVINO_DEVICE picks one).
    *description = name + " (OpenVINO " + openvino_version() + "; devices: " + join(available) + ")";
    if (threads > 0) *description += ", " + std::to_string(threads) + (threads == 1 ? " thread" : " threads");
    return true;
  } catch (const std::exception& e) {
    *reason = "OpenVINO runtime failed to start for device " + device + ": " + tidy_message(e.what());
  } catch (...) {
    *reason = "OpenVINO runtime failed to start for device " + device + ": unknown exception";
  }
  return false;
}

const Runtime& runtime() { return g_runtime; }

}  // namespace stridekit::openvino
