// Every backend the core knows, found and probed once per process: the CPU backend compiled in,
// the vendor backends as plugin shared libraries next to the core binary (or in the directories of
// STRIDEKIT_PLUGIN_PATH). A backend that cannot be used keeps the reason why.
#pragma once

#include <string>
#include <vector>

#include "stridekit/backend.h"

namespace stridekit {

struct BackendSlot {
  std::string name;
  const sk_backend* table = nullptr;  // set only when available
  bool available = false;
  std::string reason;  // why not available
  std::string device;  // what runs the work when available
  int threads = 0;     // host threads a run computes on, as the probe says; 0 when it does not
  std::string path;    // the plugin file loaded or looked for; empty for the built-in cpu backend
};

class BackendRegistry {
 public:
  // Loaded and probed on first use, from whichever thread or worker gets there first.
  static const BackendRegistry& instance();

  // In ranking order: cudnn, coreml, openvino, cpu.
  const std::vector<BackendSlot>& slots() const { return slots_; }

  // nullptr for a name that is not a backend.
  const BackendSlot* find(const std::string& name) const;

  // The host threads the backends compiled into the core compute on, as their probes report: the
  // size of the CPU backend's pool.
  int built_in_threads() const { return built_in_threads_; }

 private:
  BackendRegistry();
  std::vector<BackendSlot> slots_;
  int built_in_threads_ = 0;
};

}  // namespace stridekit
