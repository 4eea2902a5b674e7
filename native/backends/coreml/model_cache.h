// The coreml backend's on-disk cache of compiled models: the policy alone, in portable C++ (no Apple
// header), so that test/coreml-cache.test.js checks it on Linux with a stand-in compiler
// (test/fixtures/coreml-cache/). coreml_runtime.mm gives it Core ML's compiler.
//
// Layout, under the cache folder (STRIDEKIT_COREML_CACHE):
//   <key>/model.mlmodelc   the compiled model
//   <key>/complete         the key, written last: an entry without it, or with another key, is damaged
//   .staging-*             a compile in progress, renamed to <key> in one step when complete
//   .trash-*               an entry being removed (renamed first, so no reader sees half of it)
//   .lock                  flock(2): shared while a process looks up, compiles or loads an entry,
//                          exclusive (never waited for) while one prunes
//
// The key hashes the model with what makes a compiled model valid: the OS build and Core ML's version
// (a compiled model is Core ML's private format) and this cache's format and the plugin ABI.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace stridekit::coreml {

// 32 hex digits.
std::string cache_key(const std::string& model_hash, const std::string& os_build, const std::string& core_ml_version);

struct CacheLimits {
  size_t max_entries = 256;
  uint64_t max_bytes = uint64_t{2} << 30;
  // An entry used this recently is never pruned: another process may have found it under a shared lock
  // that it has since released and be loading it, or Core ML may read its files after loading.
  std::chrono::seconds recent{600};
};

class ModelCache {
 public:
  ModelCache(std::filesystem::path root, CacheLimits limits);

  // Holds the shared lock: no prune removes anything while a Lease lives. Moveable, not copyable.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    const std::filesystem::path& model() const { return model_; }  // <key>/model.mlmodelc
    bool compiled() const { return compiled_; }  // this call compiled it (else it was found)

   private:
    friend class ModelCache;
    int lock_fd_ = -1;
    std::filesystem::path model_;
    bool compiled_ = false;
  };

  // compile(staging) must leave the compiled model at staging/model.mlmodelc, or throw. staging is a new
  // folder inside the cache folder, so publishing it is a rename on one volume.
  using Compiler = std::function<void(const std::filesystem::path& staging)>;

  // The complete entry for key, found (its last use touched) or compiled and published. Another process
  // may compile the same key at once: both compile, the first rename wins and the other uses the winner's
  // entry. A damaged entry is removed and compiled again. Throws std::runtime_error (with the compiler's
  // own exception's message) when the compile fails; nothing of it stays behind.
  Lease acquire(const std::string& key, const Compiler& compile);

  // Removes key's entry (Core ML refused to load it), so that the next acquire compiles it again.
  void discard(const std::string& key);

  // Removes the least recently used entries past the limits (none used within limits.recent), damaged
  // entries and leftovers of crashed processes older than limits.recent. Does nothing when another
  // process holds the lock. Returns how many entries it removed.
  size_t prune();

  const std::filesystem::path& root() const { return root_; }

 private:
  bool complete(const std::string& key) const;
  void remove_entry(const std::filesystem::path& entry);

  std::filesystem::path root_;
  CacheLimits limits_;
};

}  // namespace stridekit::coreml
