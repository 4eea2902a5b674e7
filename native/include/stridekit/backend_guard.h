/*
 * The exception barrier every backend's table puts around its entry points (C++ only).
 *
 * Nothing a backend or its vendor runtime throws may cross the C ABI of backend.h: each entry point
 * runs its body through guarded(), which turns any exception into an sk_status and the message
 * "<backend>: <what> failed: <why>" that the core shows to JavaScript. The mapping:
 *   stridekit::StatusError  its own status (a backend that knows: cuDNN out of device memory, ...)
 *   std::bad_alloc          SK_ERROR_OUT_OF_MEMORY, "out of host memory"
 *   std::invalid_argument   SK_ERROR_INVALID (a request the core should never have sent)
 *   std::length_error       SK_ERROR_UNSUPPORTED (a size past what the vendor API can describe)
 *   anything else           SK_ERROR_DEVICE
 */
#ifndef STRIDEKIT_BACKEND_GUARD_H
#define STRIDEKIT_BACKEND_GUARD_H

#include <cstdio>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "stridekit/backend.h"

namespace stridekit {

// A failure that knows which sk_status it is.
class StatusError : public std::runtime_error {
 public:
  StatusError(sk_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  sk_status status() const { return status_; }

 private:
  sk_status status_;
};

// Copies text into one of the ABI's fixed-size character arrays, truncated and terminated.
inline void copy_text(char* destination, size_t size, const std::string& text) {
  std::snprintf(destination, size, "%s", text.c_str());
}

// Runs body() and returns SK_OK, or the status of what it threw with the message written to *error.
// `tidy` (optional) rewrites a vendor runtime's message before it is shown.
template <typename Body>
sk_status guarded(const char* backend, const char* what, sk_error* error, Body&& body,
                  std::string (*tidy)(const std::string&) = nullptr) {
  sk_status status = SK_ERROR_DEVICE;
  std::string message;
  try {
    body();
    return SK_OK;
  } catch (const StatusError& e) {
    status = e.status();
    message = e.what();
  } catch (const std::bad_alloc&) {
    status = SK_ERROR_OUT_OF_MEMORY;
    message = "out of host memory";
  } catch (const std::invalid_argument& e) {
    status = SK_ERROR_INVALID;
    message = e.what();
  } catch (const std::length_error& e) {
    status = SK_ERROR_UNSUPPORTED;
    message = e.what();
  } catch (const std::exception& e) {
    message = tidy ? tidy(e.what()) : std::string(e.what());
  } catch (...) {
    message = "unknown exception";
  }
  if (error) copy_text(error->message, sizeof(error->message), std::string(backend) + ": " + what + " failed: " + message);
  return status;
}

}  // namespace stridekit

#endif /* STRIDEKIT_BACKEND_GUARD_H */
