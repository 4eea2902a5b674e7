// The memory of one device-resident tensor on one backend: a device buffer (sk_buffer) when the
// backend fills the ABI's buffer entries (cudnn), else plain host memory that plan_run reads and
// writes directly (cpu, openvino), so a chain of runs costs no copies on either kind.
//
// Held by shared_ptr: the JavaScript DeviceTensor holds one reference and every run in flight
// holds its own, so disposing a tensor while a run reads or writes it frees the memory only when
// that run has finished.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/backend_registry.h"
#include "core/native_plan.h"
#include "stridekit/backend.h"

namespace stridekit {

class DeviceStorage {
 public:
  // Uninitialised memory for `elements` floats on `backend`. Throws OutOfMemoryError when the
  // backend (or the host) has no room, BackendError when the backend fails otherwise.
  static std::shared_ptr<DeviceStorage> allocate(const BackendSlot& backend, int64_t elements);

  ~DeviceStorage();
  DeviceStorage(const DeviceStorage&) = delete;
  DeviceStorage& operator=(const DeviceStorage&) = delete;

  // Whole-tensor copies from and to host memory of elements() floats. Throw BackendError.
  void write(const float* source);
  void read(float* destination) const;

  int64_t elements() const { return elements_; }
  size_t bytes() const { return static_cast<size_t>(elements_) * sizeof(float); }
  const sk_backend* table() const { return table_; }
  const std::string& backend_name() const { return backend_name_; }

  // Exactly one of the two is set: the device buffer, or the host memory.
  sk_buffer* buffer() const { return buffer_; }
  float* host() const { return host_.get(); }

 private:
  DeviceStorage(const BackendSlot& backend, int64_t elements);

  const sk_backend* table_;
  std::string backend_name_;
  int64_t elements_;
  sk_buffer* buffer_ = nullptr;
  std::unique_ptr<float[]> host_;
};

// True when a backend fills the five device-buffer entries; the registry only admits backends
// that fill all five or none.
bool has_device_buffers(const sk_backend& table);

}  // namespace stridekit
