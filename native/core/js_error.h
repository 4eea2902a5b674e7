// The one error path from a backend, or the core itself, to JavaScript, taken by synchronous calls
// (which throw the Error) and asynchronous ones (whose promise rejects with it) alike:
//
//   a backend call's sk_status   throw_backend_status()   BackendError, or OutOfMemoryError
//   whatever the core caught     current_failure()        Failure: a message and maybe a code
//   a Failure                    js_error()               a JavaScript Error with that code
//
// Every out-of-memory failure gets the code ERR_STRIDEKIT_OUT_OF_MEMORY, whether a backend reported
// it (SK_ERROR_OUT_OF_MEMORY) or the core's own allocation failed (std::bad_alloc).
#pragma once

#include <napi.h>

#include <stdexcept>
#include <string>

#include "stridekit/backend.h"

namespace stridekit {

constexpr char kOutOfMemoryCode[] = "ERR_STRIDEKIT_OUT_OF_MEMORY";

// A backend failed, or cannot be used; the message says which backend and why.
class BackendError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The backend (or the host) had no room.
class OutOfMemoryError : public BackendError {
 public:
  using BackendError::BackendError;
};

// Throws what a backend call that returned `status` (not SK_OK) calls for: an OutOfMemoryError for
// SK_ERROR_OUT_OF_MEMORY, a BackendError for any other status.
[[noreturn]] void throw_backend_status(sk_status status, const std::string& message);

// What a backend wrote into `error`, read no further than its array: "" when it wrote nothing.
std::string backend_message(const sk_error& error);

// A failure as it crosses to JavaScript; an empty code means none.
struct Failure {
  std::string message;
  std::string code;
};

// What the exception being handled says. Call only inside a catch block.
Failure current_failure();

Napi::Error js_error(Napi::Env env, const Failure& failure);

// Runs body() on the JavaScript thread, turning the core's failures into JavaScript Errors
// (Napi::Errors pass through untouched): no C++ exception but Napi::Error may leave a Node-API
// callback, or the process would abort.
template <class Body>
auto to_js_errors(Napi::Env env, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw js_error(env, current_failure());
  }
}

}  // namespace stridekit
