// The entry point of a vendor plugin's loader stub (runtime_search.h): finds and opens the vendor
// runtime, then the implementation beside this file, and returns the implementation's table. When either
// cannot be opened it returns a table of its own whose probe gives the reason, so the backend is
// unavailable with a reason a user can act on, never a load failure of the core.
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "runtime_search.h"
#include "stridekit/backend.h"

namespace stridekit_stub {
const Runtime& runtime();  // the plugin's own stub source says what to look for
}

namespace {

using stridekit_stub::Found;
using stridekit_stub::Runtime;
using stridekit_stub::RuntimeLibrary;

char g_reason[SK_REASON_MAX];

void copy_text(char* to, size_t size, const std::string& text) {
  std::snprintf(to, size, "%s", text.c_str());
  if (text.size() >= size && size > 4) std::memcpy(to + size - 4, "...", 4);
}

void unavailable_probe(sk_probe_result* result) {
  if (!result) return;
  result->available = 0;
  copy_text(result->reason, sizeof(result->reason), g_reason);
  result->device[0] = '\0';
  result->threads = 0;
}

sk_status unavailable_create(const sk_conv_geometry*, const float*, const float*, sk_plan** plan, sk_error* error) {
  if (plan) *plan = nullptr;
  if (error) copy_text(error->message, sizeof(error->message), g_reason);
  return SK_ERROR_DEVICE;
}

sk_status unavailable_run(sk_plan*, const sk_conv_shape*, const float*, float*, sk_error* error) {
  if (error) copy_text(error->message, sizeof(error->message), g_reason);
  return SK_ERROR_DEVICE;
}

void unavailable_destroy(sk_plan*) {}

std::string joined(const std::vector<std::string>& places) {
  std::string text;
  for (const std::string& place : places) text += (text.empty() ? "" : "; ") + place;
  return text;
}

// The folder holding this stub, where the implementation is installed beside it.
std::string own_directory() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&own_directory), &info) && info.dli_fname) {
    std::string path(info.dli_fname);
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
  }
  return ".";
}

// Opens the runtime and the implementation; returns the implementation's entry, or null with g_reason set.
sk_backend_entry_fn load() {
  const Runtime& runtime = stridekit_stub::runtime();
  for (const RuntimeLibrary& library : runtime.libraries) {
    const Found found = stridekit_stub::open_runtime_library(library);
    if (!found.path.empty()) continue;
    std::string reason;
    if (!found.load_error.empty()) {
      reason = std::string(library.label) + " found but it does not load: " + found.load_error + "; install it again with: " +
               runtime.install;
    } else {
      reason = std::string(library.label) + " not found (" + library.soname + "): run `" + runtime.install +
               "` in the active Python environment, or set " + library.variable + " to its folder; searched: " +
               joined(found.places);
    }
    copy_text(g_reason, sizeof(g_reason), reason);
    return nullptr;
  }
  const std::string implementation = own_directory() + "/libstridekit_" + runtime.backend + "_impl.so";
  dlerror();
  void* handle = dlopen(implementation.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* message = dlerror();
    copy_text(g_reason, sizeof(g_reason),
              "cannot load " + implementation + ": " + (message ? message : "dlopen failed") + " (reinstall or rebuild stridekit)");
    return nullptr;
  }
  void* symbol = dlsym(handle, SK_BACKEND_ENTRY_SYMBOL);
  if (!symbol) {
    copy_text(g_reason, sizeof(g_reason), implementation + " does not export " + SK_BACKEND_ENTRY_SYMBOL);
    return nullptr;
  }
  return reinterpret_cast<sk_backend_entry_fn>(symbol);
}

}  // namespace

extern "C" SK_EXPORT const sk_backend* stridekit_backend_entry(uint32_t host_abi_version, sk_error* error) {
  static const sk_backend_entry_fn implementation = load();  // once: the libraries stay loaded
  if (implementation) return implementation(host_abi_version, error);
  static const sk_backend unavailable = {
      SK_BACKEND_ABI_VERSION, sizeof(sk_backend), stridekit_stub::runtime().backend,
      unavailable_probe, unavailable_create, unavailable_run, unavailable_destroy,
      nullptr, nullptr, nullptr, nullptr, nullptr};
  return &unavailable;
}
