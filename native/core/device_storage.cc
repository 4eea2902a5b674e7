#include "core/device_storage.h"

#include <algorithm>
#include <new>

namespace stridekit {

namespace {

// "<backend> backend failed to <what>: <the backend's message>".
std::string failure(const std::string& backend, const std::string& what, const sk_error& error) {
  std::string message = backend + " backend failed to " + what;
  const std::string said = backend_message(error);
  if (!said.empty()) message += ": " + said;
  return message;
}

}  // namespace

bool has_device_buffers(const sk_backend& t) {
  return t.buffer_create && t.buffer_write && t.buffer_read && t.buffer_destroy && t.plan_run_device;
}

DeviceStorage::DeviceStorage(const BackendSlot& backend, int64_t elements)
    : table_(backend.table), backend_name_(backend.name), elements_(elements) {}

std::shared_ptr<DeviceStorage> DeviceStorage::allocate(const BackendSlot& backend,
                                                       int64_t elements) {
  std::shared_ptr<DeviceStorage> storage(new DeviceStorage(backend, elements));
  const size_t bytes = storage->bytes();
  if (!has_device_buffers(*backend.table)) {
    storage->host_.reset(new (std::nothrow) float[static_cast<size_t>(elements)]);
    if (!storage->host_) {
      throw OutOfMemoryError("out of host memory: cannot allocate " + std::to_string(bytes) +
                             " bytes for a " + backend.name + " DeviceTensor");
    }
    return storage;
  }
  sk_error error{};
  const sk_status status = backend.table->buffer_create(bytes, &storage->buffer_, &error);
  if (status == SK_OK && storage->buffer_) return storage;
  storage->buffer_ = nullptr;
  const std::string what = "allocate " + std::to_string(bytes) + " bytes for a DeviceTensor";
  throw_backend_status(status, failure(backend.name, what, error) +
                                   (status == SK_ERROR_OUT_OF_MEMORY ? " (out of device memory)" : ""));
}

DeviceStorage::~DeviceStorage() {
  if (buffer_) table_->buffer_destroy(buffer_);
}

void DeviceStorage::write(const float* source) {
  if (!buffer_) {
    std::copy(source, source + elements_, host_.get());
    return;
  }
  sk_error error{};
  const sk_status status = table_->buffer_write(buffer_, source, bytes(), &error);
  if (status != SK_OK) throw_backend_status(status, failure(backend_name_, "upload a tensor", error));
}

void DeviceStorage::read(float* destination) const {
  if (!buffer_) {
    std::copy(host_.get(), host_.get() + elements_, destination);
    return;
  }
  sk_error error{};
  const sk_status status = table_->buffer_read(buffer_, destination, bytes(), &error);
  if (status != SK_OK) throw_backend_status(status, failure(backend_name_, "download a tensor", error));
}

}  // namespace stridekit
