// Opens the OpenVINO runtime once (at probe time) and decides how models are compiled.
#include "openvino_runtime.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <vector>

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
  ov_version_t version{};
  if (ov_get_openvino_version(&version) != OK) return "(unknown version)";
  std::string build = version.buildNumber ? version.buildNumber : "";
  ov_version_free(&version);
  return build.substr(0, build.find('-'));
}

std::vector<std::string> available_devices(const ov_core_t* core) {
  ov_available_devices_t devices{};
  check(ov_core_get_available_devices(core, &devices), "listing devices");
  std::vector<std::string> names(devices.devices, devices.devices + devices.size);
  ov_available_devices_free(&devices);
  return names;
}

// A property as text; false when the device does not answer (a meta-device may not).
bool get_property(const ov_core_t* core, const std::string& device, const char* key, std::string* value) {
  char* text = nullptr;
  if (ov_core_get_property(core, device.c_str(), key, &text) != OK) return false;
  *value = take_string(text);
  return true;
}

// A property that lists names, as OpenVINO's C API returns it: one string, separated by spaces.
std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

bool listed(const std::vector<std::string>& names, const char* name) {
  return std::find(names.begin(), names.end(), name) != names.end();
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

void configure_device(ov_core_t* core, const std::string& device, int threads) {
  std::string names;
  if (!get_property(core, device, ov_property_key_supported_properties, &names)) {
    return;  // a meta-device (AUTO:..., HETERO:...) may not answer: compile with its defaults
  }
  const std::vector<std::string> supported = words(names);
  auto set = [&](const char* key, const std::string& value) {
    if (!listed(supported, key)) return;
    check(ov_core_set_property(core, device.c_str(), key, value.c_str()), key);
  };
  // One request at a time per compiled model, as the core runs a plan: latency, not throughput.
  set(ov_property_key_hint_performance_mode, "LATENCY");
  // CPUs with bf16/AMX and GPUs would otherwise run in bf16/f16; the contract is float32 results unless
  // a plan permits bf16 (compile_precision overrides this for that plan's models).
  set(ov_property_key_hint_inference_precision, "f32");
  if (threads > 0) set(ov_property_key_inference_num_threads, std::to_string(threads));
}

namespace {

// bf16 when the device says it computes in it (OPTIMIZATION_CAPABILITIES BF16: on a CPU, AVX512-BF16 or
// AMX) and takes the inference precision as a compile property; fp32 always. fp16 and tf32 are not
// passed on: those plans keep f32 (a device's f16 would not meet their documented bounds).
uint32_t device_precisions(const ov_core_t* core, const std::string& device) {
  uint32_t bits = 1u << SK_PRECISION_FP32;
  std::string supported, capabilities;
  if (get_property(core, device, ov_property_key_supported_properties, &supported) &&
      listed(words(supported), ov_property_key_hint_inference_precision) &&
      get_property(core, device, ov_property_key_device_capabilities, &capabilities) &&
      listed(words(capabilities), "BF16")) {
    bits |= 1u << SK_PRECISION_BF16;
  }
  return bits;
}

}  // namespace

const char* compile_precision(const Runtime& runtime, int32_t precision) {
  const bool honoured = precision == SK_PRECISION_BF16 && (runtime.precisions & (1u << SK_PRECISION_BF16));
  return honoured ? "bf16" : nullptr;
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
    ov_core_t* created = nullptr;
    check(ov_core_create(&created), "creating the OpenVINO core");
    CorePtr core(created);
    const std::vector<std::string> available = available_devices(core.get());
    if (!device_listed(available, device)) {
      const bool meta = device.rfind("AUTO", 0) == 0 || device.rfind("HETERO", 0) == 0 ||
                        device.rfind("MULTI", 0) == 0;
      if (!meta) {
        *reason = "OpenVINO " + openvino_version() + " has no device " + device +
                  " (STRIDEKIT_OPENVINO_DEVICE); available: " + join(available);
        return false;
      }
    }
    std::string name = device, full_name;
    // a meta-device has no full name of its own
    if (get_property(core.get(), device, ov_property_key_device_full_name, &full_name)) name = device + ": " + full_name;
    const int threads = requested_threads();
    configure_device(core.get(), device, threads);
    g_runtime.precisions = device_precisions(core.get(), device);
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

sk_device_kind device_kind_of(const std::string& device) {
  // OpenVINO names a device by its plugin, then optionally ".<index>"; the plugin names are fixed.
  const std::string plugin = device.substr(0, device.find('.'));
  if (plugin == "CPU") return SK_DEVICE_KIND_CPU;
  if (plugin == "GPU") return SK_DEVICE_KIND_GPU;
  if (plugin == "NPU") return SK_DEVICE_KIND_NPU;
  return SK_DEVICE_KIND_UNKNOWN;
}

const Runtime& runtime() { return g_runtime; }

}  // namespace stridekit::openvino
