#include "core/backend_registry.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "backends/cpu/cpu_backend.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace stridekit {

namespace {

#if defined(_WIN32)
constexpr char kPathSeparator = ';';
constexpr char kDirSeparator = '\\';
std::string library_file(const std::string& name) { return "stridekit_" + name + ".dll"; }
#elif defined(__APPLE__)
constexpr char kPathSeparator = ':';
constexpr char kDirSeparator = '/';
std::string library_file(const std::string& name) { return "libstridekit_" + name + ".dylib"; }
#else
constexpr char kPathSeparator = ':';
constexpr char kDirSeparator = '/';
std::string library_file(const std::string& name) { return "libstridekit_" + name + ".so"; }
#endif

bool file_exists(const std::string& path) {
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    std::fclose(f);
    return true;
  }
  return false;
}

// The directory holding this very binary (the core addon), where plugins are installed beside it.
std::string core_directory() {
#if defined(_WIN32)
  HMODULE module = nullptr;
  char path[MAX_PATH];
  if (GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                             GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                         reinterpret_cast<LPCSTR>(&core_directory), &module) &&
      GetModuleFileNameA(module, path, MAX_PATH) > 0) {
    std::string p(path);
    return p.substr(0, p.find_last_of("\\/"));
  }
#else
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&core_directory), &info) && info.dli_fname) {
    std::string p(info.dli_fname);
    size_t slash = p.find_last_of('/');
    return slash == std::string::npos ? "." : p.substr(0, slash);
  }
#endif
  return ".";
}

std::vector<std::string> plugin_directories() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("STRIDEKIT_PLUGIN_PATH")) {
    std::string list(env);
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(kPathSeparator, start);
      if (end == std::string::npos) end = list.size();
      if (end > start) dirs.push_back(list.substr(start, end - start));
      start = end + 1;
    }
  }
  dirs.push_back(core_directory());
  return dirs;
}

// Opens a plugin (RTLD_NOW | RTLD_LOCAL: missing symbols fail here, not mid-run; vendor symbols stay
// private). Plugins are never closed: their threads may outlive every plan.
void* open_library(const std::string& path, std::string* error) {
#if defined(_WIN32)
  HMODULE handle = LoadLibraryExA(path.c_str(), nullptr, LOAD_WITH_ALTERED_SEARCH_PATH);
  if (!handle) *error = "LoadLibrary failed with error " + std::to_string(GetLastError());
  return reinterpret_cast<void*>(handle);
#else
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* message = dlerror();
    *error = message ? message : "dlopen failed";
  }
  return handle;
#endif
}

void* find_symbol(void* library, const char* name) {
#if defined(_WIN32)
  return reinterpret_cast<void*>(GetProcAddress(reinterpret_cast<HMODULE>(library), name));
#else
  return dlsym(library, name);
#endif
}

// Checks a backend's table and asks it whether it can run here.
void adopt(BackendSlot& slot, const sk_backend* table) {
  if (table->abi_version != SK_BACKEND_ABI_VERSION) {
    slot.reason = "ABI mismatch: " + (slot.path.empty() ? slot.name : slot.path) + " has ABI " +
                  std::to_string(table->abi_version) + ", the core has ABI " +
                  std::to_string(SK_BACKEND_ABI_VERSION);
    return;
  }
  // The core picks the device path by whether buffer_create is set: half a set would be called
  // through a NULL pointer.
  const int buffer_entries = !!table->buffer_create + !!table->buffer_write + !!table->buffer_read +
                             !!table->buffer_destroy + !!table->plan_run_device;
  if (buffer_entries != 0 && buffer_entries != 5) {
    slot.reason = (slot.path.empty() ? slot.name : slot.path) + " fills " +
                  std::to_string(buffer_entries) +
                  " of the 5 device-buffer entries (buffer_create, buffer_write, buffer_read, "
                  "buffer_destroy, plan_run_device): a backend fills all of them or none";
    return;
  }
  sk_probe_result probe{};
  table->probe(&probe);
  probe.reason[sizeof(probe.reason) - 1] = '\0';
  probe.device[sizeof(probe.device) - 1] = '\0';
  slot.device = probe.device;
  if (!probe.available) {
    slot.reason = probe.reason[0] ? probe.reason : "the backend reported itself unavailable";
    return;
  }
  slot.table = table;
  slot.available = true;
}

BackendSlot load_plugin(const std::string& name) {
  BackendSlot slot;
  slot.name = name;
  const std::string file = library_file(name);
  std::string searched;
  for (const std::string& dir : plugin_directories()) {
    const std::string candidate = dir + kDirSeparator + file;
    if (file_exists(candidate)) {
      slot.path = candidate;
      break;
    }
    searched += (searched.empty() ? "" : ", ") + dir;
  }
  if (slot.path.empty()) {
#if !defined(__APPLE__)
    if (name == "coreml") {
      slot.reason = "macOS only";
      return slot;
    }
#endif
    slot.reason = "not built: " + file + " not found in " + searched;
    return slot;
  }
  std::string error;
  void* library = open_library(slot.path, &error);
  if (!library) {
    slot.reason = "cannot load " + slot.path + ": " + error;
    return slot;
  }
  auto entry = reinterpret_cast<sk_backend_entry_fn>(find_symbol(library, SK_BACKEND_ENTRY_SYMBOL));
  if (!entry) {
    slot.reason = slot.path + " does not export " + SK_BACKEND_ENTRY_SYMBOL;
    return slot;
  }
  sk_error entry_error{};
  const sk_backend* table = entry(SK_BACKEND_ABI_VERSION, &entry_error);
  if (!table) {
    entry_error.message[sizeof(entry_error.message) - 1] = '\0';
    slot.reason = slot.path + " refused to load: " + entry_error.message;
    return slot;
  }
  adopt(slot, table);
  return slot;
}

BackendSlot load_builtin_cpu() {
  BackendSlot slot;
  slot.name = "cpu";
  sk_error error{};
  const sk_backend* table = stridekit_cpu_backend_entry(SK_BACKEND_ABI_VERSION, &error);
  if (!table) {
    slot.reason = error.message;
    return slot;
  }
  adopt(slot, table);
  return slot;
}

}  // namespace

const BackendRegistry& BackendRegistry::instance() {
  static const BackendRegistry* registry = new BackendRegistry();  // plugins are never unloaded
  return *registry;
}

BackendRegistry::BackendRegistry() {
  for (const char* name : {"cudnn", "coreml", "openvino"}) slots_.push_back(load_plugin(name));
  slots_.push_back(load_builtin_cpu());
}

const BackendSlot* BackendRegistry::find(const std::string& name) const {
  for (const BackendSlot& slot : slots_) {
    if (slot.name == name) return &slot;
  }
  return nullptr;
}

}  // namespace stridekit
