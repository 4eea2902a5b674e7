#include "runtime_search.h"

#include <dlfcn.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace stridekit_stub {

namespace {

bool is_file(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_dir(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

// The folders matching a pattern, last in glob order first: python3.12 before python3.11,
// openvino_2025.3 before openvino_2024.6.
std::vector<std::string> expand(const std::string& pattern) {
  std::vector<std::string> dirs;
  if (pattern.find_first_of("*?[") == std::string::npos) {
    if (is_dir(pattern)) dirs.push_back(pattern);
    return dirs;
  }
  glob_t matches{};
  if (glob(pattern.c_str(), GLOB_ONLYDIR, nullptr, &matches) == 0) {
    for (size_t i = matches.gl_pathc; i-- > 0;) dirs.push_back(matches.gl_pathv[i]);
  }
  globfree(&matches);
  return dirs;
}

// The prefix of the first python3 on PATH: the parent of the folder holding it, without resolving
// links (a virtual environment's bin/python3 links to the system's).
std::string path_python_prefix() {
  const std::string path = env("PATH");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    start = end + 1;
    if (dir.empty()) continue;
    if (access((dir + "/python3").c_str(), X_OK) == 0) {
      while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
      const size_t slash = dir.rfind('/');
      if (slash == std::string::npos) return std::string();
      return slash == 0 ? std::string("/") : dir.substr(0, slash);
    }
  }
  return std::string();
}

class Search {
 public:
  explicit Search(const RuntimeLibrary& library) : library_(library) {}

  // Tries `dir`: true when the library was there and loaded.
  bool try_dir(const std::string& dir) {
    const std::string candidate = dir + "/" + library_.soname;
    if (!is_file(candidate)) return false;
    dlerror();
    if (dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      found_.path = candidate;
      return true;
    }
    const char* message = dlerror();
    found_.load_error = candidate + ": " + (message ? message : "dlopen failed");
    return false;
  }

  // Tries every folder a pattern matches; `shown` is how the place is listed in a reason.
  bool try_pattern(const std::string& pattern, const std::string& shown) {
    found_.places.push_back(shown);
    for (const std::string& dir : expand(pattern)) {
      if (try_dir(dir)) return true;
    }
    return false;
  }

  // Tries a Python prefix's packages: <prefix>/lib/python3*/{site,dist}-packages/<package dir>; in a conda
  // environment also <prefix>/lib, where conda's own openvino, cudatoolkit and cudnn packages put them.
  bool try_prefix(const std::string& prefix, const std::string& shown, bool conda = false) {
    found_.places.push_back(shown);
    for (const char* package : library_.package_dirs) {
      for (const char* packages : {"site-packages", "dist-packages"}) {
        for (const std::string& dir : expand(prefix + "/lib/python3*/" + packages + "/" + package)) {
          if (try_dir(dir)) return true;
        }
      }
    }
    if (conda) {
      found_.places.back() += " (and its lib/)";
      if (try_dir(prefix + "/lib")) return true;
    }
    return false;
  }

  Found run() {
    // 1. The variable: that folder (or its usual subfolders) or nothing.
    const std::string named = env(library_.variable);
    if (!named.empty()) {
      found_.places.push_back(std::string(library_.variable) + "=" + named);
      if (try_dir(named)) return found_;
      for (const char* sub : library_.variable_subdirs) {
        if (try_dir(named + "/" + sub)) return found_;
      }
      return found_;
    }
    // 2. The Python environment's packages, each prefix once.
    std::vector<std::string> prefixes;
    auto try_once = [&](const std::string& prefix, const std::string& shown, bool conda = false) {
      for (const std::string& seen : prefixes) {
        if (seen == prefix) return false;
      }
      prefixes.push_back(prefix);
      return try_prefix(prefix, shown, conda);
    };
    for (const char* variable : {"VIRTUAL_ENV", "CONDA_PREFIX"}) {
      const std::string prefix = env(variable);
      const bool conda = variable[0] == 'C';
      if (!prefix.empty() && try_once(prefix, std::string("$") + variable + "=" + prefix, conda)) return found_;
    }
    const std::string python = path_python_prefix();
    if (python.empty()) {
      found_.places.push_back("no python3 on PATH");
    } else if (try_once(python, python + " (python3 on PATH)")) {
      return found_;
    } else if (python == "/usr" && try_once("/usr/local", "/usr/local (where pip installs for the system python3 on Debian and Ubuntu)")) {
      // Debian's python3 keeps its own packages in /usr/lib/python3/dist-packages and gives pip
      // /usr/local/lib/python3.X/dist-packages: a `pip install` as root, as in most containers, lands there.
      return found_;
    }
    const std::string home = env("HOME");
    if (!home.empty() && try_once(home + "/.local", "~/.local")) return found_;
    std::string package_dirs;
    for (const char* package : library_.package_dirs) {
      package_dirs += (package_dirs.empty() ? "" : " or ") + std::string(package);
    }
    found_.places.back() += " (each: lib/python3*/site-packages/" + package_dirs + ")";
    // 3. The vendor's system locations, then the dynamic loader's own search.
    for (const char* pattern : library_.system_dirs) {
      if (try_pattern(pattern, pattern)) return found_;
    }
    found_.places.push_back("the loader's path (LD_LIBRARY_PATH, ld.so.cache)");
    if (dlopen(library_.soname, RTLD_NOW | RTLD_LOCAL)) {
      found_.path = library_.soname;
    } else {
      dlerror();
    }
    return found_;
  }

 private:
  const RuntimeLibrary& library_;
  Found found_;
};

}  // namespace

Found open_runtime_library(const RuntimeLibrary& library) { return Search(library).run(); }

}  // namespace stridekit_stub
