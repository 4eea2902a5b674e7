// A plan's cache of what its runs derive from an input's shape alone (conv_forward.cc's offset
// tables), for the last few shapes it ran: a plan called again and again on one shape, as inference
// calls it, builds them once instead of on every call.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "backends/cpu/conv_problem.h"

namespace stridekit::cpu {

// Entry may be incomplete where the cache is declared (a plan holds it); get() needs it complete only
// where `make` creates one.
template <class Entry>
class ShapeCache {
 public:
  // The entry for one image (p) or band of it (q), made by make() (a shared_ptr<const Entry>) when
  // none is cached. The caller's reference keeps it alive even if another shape evicts it meanwhile,
  // and runs that race on a new shape may both make it: entries are immutable once made.
  template <class Make>
  std::shared_ptr<const Entry> get(const ConvProblem& p, const ConvProblem& q, Make make) const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const Slot& slot : slots_) {
        if (same_shape(slot.p, p) && same_shape(slot.q, q)) return slot.entry;
      }
    }
    std::shared_ptr<const Entry> entry = make();
    std::lock_guard<std::mutex> lock(mutex_);
    if (slots_.size() == kSlots) slots_.erase(slots_.begin());  // the oldest
    slots_.push_back({p, q, entry});
    return entry;
  }

 private:
  // An image's bands take up to three shapes (first, middle, last); a few images' sizes beside them.
  static constexpr size_t kSlots = 8;
  struct Slot {
    ConvProblem p, q;
    std::shared_ptr<const Entry> entry;
  };
  mutable std::mutex mutex_;
  mutable std::vector<Slot> slots_;
};

}  // namespace stridekit::cpu
