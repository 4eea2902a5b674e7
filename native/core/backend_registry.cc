#include "core/backend_registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "core/js_error.h"
#include "core/plugin_file.h"

#include <sys/stat.h>
#include <sys/types.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#endif

// The backends compiled into the core (binding.gyp builds their sources into it). Each is reached
// through its entry function exactly as a plugin is through its exported symbol, and the core knows
// nothing else about it: its name and everything it can do come from its table and its probe.
extern "C" sk_backend_entry stridekit_cpu_backend_entry;

namespace stridekit {

namespace {

constexpr sk_backend_entry_fn kBuiltInBackends[] = {stridekit_cpu_backend_entry};

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

// Whether anything is at `path`: a file that cannot be read, or a directory of the plugin's name,
// is found (and then reported by check_plugin_file), not skipped in favour of the next folder.
bool file_exists(const std::string& path) {
#if defined(_WIN32)
  struct _stat64 st;
  return _stat64(path.c_str(), &st) == 0;
#else
  struct stat st;
  return stat(path.c_str(), &st) == 0;
#endif
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

// A string from a plugin's table, read no further than `limit` bytes: enough to show in a message.
std::string bounded(const char* text, size_t limit) {
  size_t n = 0;
  while (n < limit && text[n] != '\0') ++n;
  return std::string(text, n) + (n == limit ? "..." : "");
}

// A probe's text as one line of at most `size` - 1 bytes, whatever the probe wrote: terminated, and
// control characters (a newline would break `stridekit info`'s table) shown as spaces.
std::string probe_text(char* text, size_t size) {
  text[size - 1] = '\0';
  std::string line(text);
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return line;
}

// sk_device_kind as the facade reads it; a value this core does not know is unknown (empty).
std::string device_kind_name(int32_t kind) {
  switch (kind) {
    case SK_DEVICE_KIND_CPU: return "cpu";
    case SK_DEVICE_KIND_GPU: return "gpu";
    case SK_DEVICE_KIND_NPU: return "npu";
    default: return "";
  }
}

// A probe's precisions as the facade reads them: fp32 always (0 from a probe that says nothing), and
// only the bits of sk_precision values this core knows, so a plugin cannot announce a mode no plan can
// ask for.
uint32_t known_precisions(uint32_t bits) {
  constexpr uint32_t known = (1u << SK_PRECISION_FP32) | (1u << SK_PRECISION_TF32) |
                             (1u << SK_PRECISION_FP16) | (1u << SK_PRECISION_BF16);
  return (bits & known) | (1u << SK_PRECISION_FP32);
}

// Checks a backend's table and asks it whether it can run here. Every check that keeps the core from
// calling through a bad pointer comes before the probe: a table is refused for what it is, on every
// machine, not only on those where its probe finds a device (a plugin missing plan_run must fail on a
// machine without the GPU as well as on one with it).
//
// struct_size: the table must be at least sizeof(sk_backend) of this core's ABI, since the core reads
// every entry. A larger struct_size (a plugin from a newer header that appended entries without
// bumping the ABI) is accepted: the core reads only the entries it knows, at the offsets it knows.
void adopt(BackendSlot& slot, const sk_backend* table) {
  const std::string who = slot.path.empty() ? slot.name : slot.path;
  if (table->abi_version != SK_BACKEND_ABI_VERSION) {
    slot.reason = "ABI mismatch: " + who + " has ABI " + std::to_string(table->abi_version) +
                  ", the core has ABI " + std::to_string(SK_BACKEND_ABI_VERSION);
    return;
  }
  if (table->struct_size < sizeof(sk_backend)) {
    slot.reason = who + " has a backend table of " + std::to_string(table->struct_size) +
                  " bytes (struct_size), the core needs " + std::to_string(sizeof(sk_backend)) +
                  " for ABI " + std::to_string(SK_BACKEND_ABI_VERSION) + ": rebuild the plugin";
    return;
  }
  if (!table->name) {
    slot.reason = who + " has no name in its backend table (name is NULL): rebuild the plugin";
    return;
  }
  if (std::strncmp(table->name, slot.name.c_str(), slot.name.size() + 1) != 0) {
    slot.reason = who + " is the '" + bounded(table->name, 32) + "' backend, not '" + slot.name +
                  "': it is installed under the wrong name";
    return;
  }
  const char* missing = !table->probe         ? "probe"
                        : !table->plan_create ? "plan_create"
                        : !table->plan_run    ? "plan_run"
                        : !table->plan_destroy ? "plan_destroy"
                                               : nullptr;
  if (missing) {
    slot.reason = who + " leaves " + missing +
                  " NULL in its backend table (probe, plan_create, plan_run and plan_destroy are "
                  "required): rebuild the plugin";
    return;
  }
  // The core picks the device path by whether buffer_create is set: half a set would be called
  // through a NULL pointer.
  const int buffer_entries = !!table->buffer_create + !!table->buffer_write + !!table->buffer_read +
                             !!table->buffer_destroy + !!table->plan_run_device;
  if (buffer_entries != 0 && buffer_entries != 5) {
    slot.reason = who + " fills " + std::to_string(buffer_entries) +
                  " of the 5 device-buffer entries (buffer_create, buffer_write, buffer_read, "
                  "buffer_destroy, plan_run_device): a backend fills all of them or none";
    return;
  }
  sk_probe_result probe{};
  table->probe(&probe);
  slot.device = probe_text(probe.device, sizeof(probe.device));
  slot.threads = probe.threads > 0 ? probe.threads : 0;
  slot.kind = device_kind_name(probe.device_kind);
  slot.precisions = known_precisions(probe.precisions);
  if (!probe.available) {
    const std::string reason = probe_text(probe.reason, sizeof(probe.reason));
    slot.reason = reason.empty() ? "the backend reported itself unavailable" : reason;
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
    slot.reason = "not built: " + file + " not found in " + searched;
    return slot;
  }
  // Before dlopen: the dynamic loader maps whatever the headers say, and a truncated file kills the
  // process (SIGBUS) instead of failing.
  const std::string problem = check_plugin_file(slot.path);
  if (!problem.empty()) {
    slot.reason = problem;
    return slot;
  }
  std::string error;
  void* library = open_library(slot.path, &error);
  if (!library) {
    slot.reason = "cannot load " + slot.path + ": " + error;
    return slot;
  }
  void* symbol = find_symbol(library, SK_BACKEND_ENTRY_SYMBOL);
  if (!symbol) {
    slot.reason = slot.path + " does not export " + SK_BACKEND_ENTRY_SYMBOL;
    return slot;
  }
  const std::string not_code = check_entry_is_function(symbol, SK_BACKEND_ENTRY_SYMBOL);
  if (!not_code.empty()) {
    slot.reason = slot.path + " exports " + SK_BACKEND_ENTRY_SYMBOL + ", but it " + not_code +
                  ": the file is not a stridekit plugin, or is corrupt";
    return slot;
  }
  auto entry = reinterpret_cast<sk_backend_entry_fn>(symbol);
  sk_error entry_error{};
  const sk_backend* table = entry(SK_BACKEND_ABI_VERSION, &entry_error);
  if (!table) {
    const std::string message = probe_text(entry_error.message, sizeof(entry_error.message));
    slot.reason = slot.path + " refused to load: " +
                  (message.empty() ? "its entry point returned no backend table" : message);
    return slot;
  }
  adopt(slot, table);
  return slot;
}

// A built-in backend's slot, named by its table. Its entry always returns the table (it is compiled
// from the core's own header); adopt() checks the table as it checks a plugin's.
BackendSlot load_built_in(sk_backend_entry_fn entry) {
  const sk_backend* table = entry(SK_BACKEND_ABI_VERSION, nullptr);
  BackendSlot slot;
  slot.name = table->name;
  adopt(slot, table);
  return slot;
}

// A backend name becomes part of a file name: lowercase letters, digits and '_' only, so that no
// name can reach outside the plugin folders.
void check_name(const std::string& name) {
  const bool plain = !name.empty() && name.size() <= 64 &&
                     name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
  if (!plain) throw BackendError("internal: '" + bounded(name.c_str(), 64) + "' is not a backend name");
}

}  // namespace

BackendRegistry& BackendRegistry::instance() {
  static BackendRegistry* registry = new BackendRegistry();  // plugins are never unloaded
  return *registry;
}

BackendRegistry::BackendRegistry() : listed_(new std::vector<const BackendSlot*>()) {
  for (sk_backend_entry_fn entry : kBuiltInBackends) {
    built_in_.push_back(load_built_in(entry));
    built_in_threads_ = std::max(built_in_threads_, built_in_.back().threads);
  }
}

std::vector<const BackendSlot*> BackendRegistry::list(const std::vector<std::string>& names) {
  for (const std::string& name : names) check_name(name);
  std::lock_guard<std::mutex> lock(mutex_);
  const std::vector<const BackendSlot*>* known = listed_.load(std::memory_order_acquire);
  auto grown = std::make_unique<std::vector<const BackendSlot*>>(*known);
  std::vector<const BackendSlot*> result;
  for (const std::string& name : names) {
    const BackendSlot* slot = lookup(*grown, name);
    if (!slot) {
      slot = lookup(built_in_, name);
      if (!slot) slot = new BackendSlot(load_plugin(name));  // kept for the process
      grown->push_back(slot);
    }
    result.push_back(slot);
  }
  // Readers may still hold the old snapshot: it is left in place, one small vector per new name.
  if (grown->size() != known->size()) listed_.store(grown.release(), std::memory_order_release);
  return result;
}

const BackendSlot* BackendRegistry::find(std::string_view name) const {
  return lookup(*listed_.load(std::memory_order_acquire), name);
}

const BackendSlot* BackendRegistry::lookup(const std::vector<const BackendSlot*>& slots,
                                           std::string_view name) {
  for (const BackendSlot* slot : slots) {
    if (slot->name == name) return slot;
  }
  return nullptr;
}

const BackendSlot* BackendRegistry::lookup(const std::vector<BackendSlot>& slots,
                                           std::string_view name) {
  for (const BackendSlot& slot : slots) {
    if (slot.name == name) return &slot;
  }
  return nullptr;
}

}  // namespace stridekit
