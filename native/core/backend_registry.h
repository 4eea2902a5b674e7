// The backends the core can run on, each found and probed once per process: those compiled into
// the core (the CPU backend), and the vendor backends as plugin shared libraries next to the core
// binary (or in the directories of STRIDEKIT_PLUGIN_PATH). The core knows no backend by name: the
// facade names them (lib/backends.ts), in its ranking order, and the built-in ones name themselves
// through their tables. A backend that cannot be used keeps the reason why.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>
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
  std::string kind;    // "cpu", "gpu", "npu", or empty: what the probe says `device` is (sk_device_kind)
  // Bit (1u << sk_precision) for each precision the backend computes in when permitted, as the probe
  // says: fp32 always, the bits of precisions this core knows, nothing else.
  uint32_t precisions = 1u << SK_PRECISION_FP32;
  std::string path;    // the plugin file loaded or looked for; empty for a built-in backend
};

class BackendRegistry {
 public:
  // Created on first use, from whichever thread or worker gets there first, with the built-in
  // backends probed.
  static BackendRegistry& instance();

  // The slots of `names`, in that order. A backend is looked up and probed the first time any
  // thread names it: the built-in backend whose table has that name, else the plugin
  // libstridekit_<name>; its slot is then kept for the process. Throws BackendError for a name
  // that is not lowercase letters, digits and '_'.
  std::vector<const BackendSlot*> list(const std::vector<std::string>& names);

  // The slot list() made for `name`; nullptr for a name never listed. Takes no lock: every
  // convolution call looks its backend up here.
  const BackendSlot* find(std::string_view name) const;

  // The host threads the backends compiled into the core compute on, as their probes report: the
  // size of the CPU backend's pool.
  int built_in_threads() const { return built_in_threads_; }

 private:
  BackendRegistry();
  static const BackendSlot* lookup(const std::vector<const BackendSlot*>& slots, std::string_view name);
  static const BackendSlot* lookup(const std::vector<BackendSlot>& slots, std::string_view name);

  std::vector<BackendSlot> built_in_;  // fixed once constructed
  int built_in_threads_ = 0;
  std::mutex mutex_;  // serialises list()
  // Every slot listed so far. list() publishes a longer copy rather than changing it, so find()
  // reads it without a lock.
  std::atomic<const std::vector<const BackendSlot*>*> listed_;
};

}  // namespace stridekit
