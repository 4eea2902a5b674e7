// The loader stub of a vendor plugin (Linux): the file the core opens as libstridekit_<name>.so has no
// vendor library among its dependencies. Its entry point looks for the vendor's runtime where users have
// it, opens those libraries by absolute path, then opens the real plugin, libstridekit_<name>_impl.so,
// from its own folder and hands the core that plugin's backend table. The implementation links the
// vendor libraries by soname and carries no RUNPATH: the dynamic loader matches its DT_NEEDED entries
// against the libraries the stub has already loaded, so no LD_LIBRARY_PATH is needed.
//
// Search order for each library, first folder holding the file wins:
//   1. the folder named by the library's variable (STRIDEKIT_OPENVINO_DIR, ...) and its usual
//      subfolders; a variable that is set is that folder or nothing, as a CMake *_ROOT is;
//   2. the active Python environment's packages: $VIRTUAL_ENV, then $CONDA_PREFIX, then the prefix of the
//      first python3 on PATH (for the system's /usr/bin/python3 also /usr/local, pip's target there on
//      Debian and Ubuntu), then ~/.local; <prefix>/lib/python3*/{site,dist}-packages/<package dir>
//      (globbed, newest first: Python itself is never run);
//   3. the vendor's system locations, then the dynamic loader's own search (LD_LIBRARY_PATH, ld.so.cache).
// Nothing is ever downloaded. Not found: the backend is unavailable and its reason names the command that
// installs the runtime, then where it looked.
#ifndef STRIDEKIT_PLUGIN_STUB_RUNTIME_SEARCH_H
#define STRIDEKIT_PLUGIN_STUB_RUNTIME_SEARCH_H

#include <string>
#include <vector>

// Debian's multiarch folder for this processor (/usr/lib/<triplet>), where distributions put vendor
// libraries; every stub lists it among its system locations.
#if defined(__aarch64__)
#define STRIDEKIT_MULTIARCH "aarch64-linux-gnu"
#else
#define STRIDEKIT_MULTIARCH "x86_64-linux-gnu"
#endif

namespace stridekit_stub {

struct RuntimeLibrary {
  const char* label;                         // "cuDNN", for messages
  const char* soname;                        // the file looked for: "libcudnn.so.9"
  const char* variable;                      // "STRIDEKIT_CUDNN_DIR"
  std::vector<const char*> variable_subdirs; // tried under the variable's folder after the folder itself
  std::vector<const char*> package_dirs;     // under site-packages: "nvidia/cudnn/lib"
  std::vector<const char*> system_dirs;      // glob patterns, tried newest (last in glob order) first
};

struct Runtime {
  const char* backend;                     // "cudnn": the plugin's name; the implementation is
                                           // libstridekit_<backend>_impl.so beside the stub
  const char* install;                     // the one command that installs the runtime
  std::vector<RuntimeLibrary> libraries;   // opened in this order
};

// Where one library was found, or why not, for the reason the stub gives.
struct Found {
  std::string path;                 // absolute path of the library opened; empty when none
  std::vector<std::string> places;  // the places searched, as shown in a reason
  std::string load_error;           // the last dlopen error of a file that was there but did not load
};

// Opens `library` (RTLD_NOW | RTLD_LOCAL) from the first place that has it.
Found open_runtime_library(const RuntimeLibrary& library);

}  // namespace stridekit_stub

#endif
