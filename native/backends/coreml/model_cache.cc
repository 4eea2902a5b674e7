#include "model_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "stridekit/backend.h"

namespace fs = std::filesystem;

namespace stridekit::coreml {
namespace {

// Bumped when the layout above changes, so that an older plugin's entries are never read as this one's.
constexpr int kCacheFormat = 1;
constexpr char kModel[] = "model.mlmodelc";
constexpr char kMarker[] = "complete";
constexpr char kLock[] = ".lock";

uint64_t fnv1a(const std::string& text, uint64_t hash) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

std::string hex(uint64_t value) {
  static const char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) out[i] = digits[value & 15];
  return out;
}

// A name no other thread or process of this machine uses at the same time.
std::string unique_suffix() {
  static std::atomic<unsigned long> counter{0};
  return std::to_string(getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

int open_lock(const fs::path& root) {
  const fs::path file = root / kLock;
  const int fd = open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open the model cache lock " + file.string() + ": " + std::strerror(errno));
  return fd;
}

uint64_t folder_bytes(const fs::path& folder) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(folder, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) bytes += it->file_size(ec);
  }
  return bytes;
}

bool older_than(const fs::path& path, std::chrono::seconds age) {
  std::error_code ec;
  const auto written = fs::last_write_time(path, ec);
  return !ec && fs::file_time_type::clock::now() - written > age;
}

}  // namespace

std::string cache_key(const std::string& model_hash, const std::string& os_build, const std::string& core_ml_version) {
  std::ostringstream parts;
  parts << "stridekit-coreml-cache " << kCacheFormat << "\nabi " << SK_BACKEND_ABI_VERSION << "\nmodel " << model_hash
        << "\nos " << os_build << "\ncoreml " << core_ml_version << "\n";
  const std::string text = parts.str();
  return hex(fnv1a(text, 0xcbf29ce484222325ull)) + hex(fnv1a(text, 0x84222325cbf29ce4ull));
}

ModelCache::ModelCache(fs::path root, CacheLimits limits) : root_(std::move(root)), limits_(limits) {}

ModelCache::Lease::Lease(Lease&& other) noexcept
    : lock_fd_(other.lock_fd_), model_(std::move(other.model_)), compiled_(other.compiled_) {
  other.lock_fd_ = -1;
}

ModelCache::Lease& ModelCache::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (lock_fd_ >= 0) close(lock_fd_);
    lock_fd_ = other.lock_fd_;
    model_ = std::move(other.model_);
    compiled_ = other.compiled_;
    other.lock_fd_ = -1;
  }
  return *this;
}

ModelCache::Lease::~Lease() {
  if (lock_fd_ >= 0) close(lock_fd_);  // closing the descriptor releases its flock
}

bool ModelCache::complete(const std::string& key) const {
  std::ifstream marker(root_ / key / kMarker);
  std::string written;
  std::error_code ec;
  return marker && std::getline(marker, written) && written == key && fs::is_directory(root_ / key / kModel, ec);
}

void ModelCache::remove_entry(const fs::path& entry) {
  // Renamed first: a reader sees the whole entry or none of it.
  const fs::path trash = root_ / (".trash-" + entry.filename().string() + "-" + unique_suffix());
  std::error_code ec;
  fs::rename(entry, trash, ec);
  if (!ec) fs::remove_all(trash, ec);
}

ModelCache::Lease ModelCache::acquire(const std::string& key, const Compiler& compile) {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) throw std::runtime_error("cannot create the model cache " + root_.string() + ": " + ec.message());
  Lease lease;
  lease.lock_fd_ = open_lock(root_);
  while (flock(lease.lock_fd_, LOCK_SH) != 0) {
    if (errno != EINTR) throw std::runtime_error(std::string("cannot lock the model cache: ") + std::strerror(errno));
  }
  const fs::path entry = root_ / key;
  lease.model_ = entry / kModel;

  if (complete(key)) {
    fs::last_write_time(entry / kMarker, fs::file_time_type::clock::now(), ec);  // its last use, for prune()
    return lease;
  }
  if (fs::exists(entry, ec)) remove_entry(entry);  // damaged: no marker, another key's, or no model

  const fs::path staging = root_ / (".staging-" + key + "-" + unique_suffix());
  fs::create_directory(staging, ec);
  if (ec) throw std::runtime_error("cannot create " + staging.string() + ": " + ec.message());
  try {
    compile(staging);
    if (!fs::is_directory(staging / kModel, ec)) throw std::runtime_error("the compiler left no " + std::string(kModel));
    std::ofstream marker(staging / kMarker, std::ios::trunc);
    marker << key << "\n";
    marker.close();
    if (!marker) throw std::runtime_error("cannot write " + (staging / kMarker).string());
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
  // rename(2) of a folder onto a missing name, on one volume: atomic. Onto an existing entry (another
  // process published first) it fails, and the entry there is used.
  fs::rename(staging, entry, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    if (!complete(key)) throw std::runtime_error("cannot publish the compiled model as " + entry.string() + ": " + ec.message());
    return lease;
  }
  lease.compiled_ = true;
  return lease;
}

void ModelCache::discard(const std::string& key) {
  std::error_code ec;
  if (fs::exists(root_ / key, ec)) remove_entry(root_ / key);
}

size_t ModelCache::prune() {
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) return 0;
  const int fd = open_lock(root_);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {  // in use: the next prune will do it
    close(fd);
    return 0;
  }
  struct Entry {
    fs::path path;
    fs::file_time_type used;
    uint64_t bytes;
  };
  std::vector<Entry> entries;
  std::vector<fs::path> stale;
  for (auto it = fs::directory_iterator(root_, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name == kLock) continue;
    if (name.rfind(".staging-", 0) == 0 || name.rfind(".trash-", 0) == 0) {
      // Left by a process that died; a live one holds the shared lock, so none is in progress now.
      stale.push_back(it->path());
      continue;
    }
    std::error_code time_ec;
    if (!complete(name)) {
      stale.push_back(it->path());
      continue;
    }
    const auto used = fs::last_write_time(it->path() / kMarker, time_ec);
    entries.push_back({it->path(), time_ec ? fs::file_time_type::min() : used, folder_bytes(it->path())});
  }
  size_t removed = 0;
  for (const fs::path& path : stale) {
    if (older_than(path, limits_.recent)) {
      remove_entry(path);
      ++removed;
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.used < b.used; });
  uint64_t bytes = 0;
  for (const Entry& e : entries) bytes += e.bytes;
  size_t count = entries.size();
  const auto now = fs::file_time_type::clock::now();
  for (const Entry& e : entries) {
    if (count <= limits_.max_entries && bytes <= limits_.max_bytes) break;
    if (now - e.used <= limits_.recent) break;  // sorted: every later entry is more recent still
    remove_entry(e.path);
    --count;
    bytes -= e.bytes;
    ++removed;
  }
  close(fd);
  return removed;
}

}  // namespace stridekit::coreml
