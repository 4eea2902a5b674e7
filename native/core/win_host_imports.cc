// Windows prebuilds only (scripts/prebuild-all.js compiles this file; binding.gyp does not list it:
// an MSVC source build imports from node.exe with node-gyp's delay-load hook instead).
//
// The core calls Node-API and libuv through import pointers (__imp_<name>: the headers declare those
// functions dllimport). Instead of an import library naming "node.exe", this file defines the
// pointers and fills them from the executable that loaded the core (GetModuleHandle(nullptr)), when
// the DLL is attached, before the host calls napi_register_module_v1. So the same binary binds to
// node.exe, electron.exe or any other host that exports Node-API, whatever its file name, as
// node-gyp's delay-load hook makes an MSVC build do.
//
// host_imports.inc, written by the build from the objects' undefined symbols, lists the functions:
// one SK_HOST_IMPORT(name) a line.
#if defined(_WIN32)
#include <windows.h>

#define SK_HOST_IMPORT(name) extern "C" FARPROC __imp_##name = nullptr;
#include "host_imports.inc"
#undef SK_HOST_IMPORT

namespace {

// A host that lacks a function the core uses would crash at the first call through a null
// pointer; failing the load instead gives Node.js's "could not load" error with this DLL's name.
struct HostImports {
  bool complete = true;
  HostImports() {
    HMODULE host = GetModuleHandleW(nullptr);
#define SK_HOST_IMPORT(name) \
  if ((__imp_##name = GetProcAddress(host, #name)) == nullptr) complete = false;
#include "host_imports.inc"
#undef SK_HOST_IMPORT
  }
};

const HostImports host_imports;

}  // namespace

extern "C" BOOL WINAPI DllMain(HINSTANCE, DWORD reason, LPVOID) {
  return reason != DLL_PROCESS_ATTACH || host_imports.complete;
}
#endif
