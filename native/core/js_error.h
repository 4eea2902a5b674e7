// The one conversion from a failure in the core to a JavaScript Error, used by synchronous calls
// (which throw it) and asynchronous ones (whose promise rejects with it) alike: the message, and the
// code ERR_STRIDEKIT_OUT_OF_MEMORY on every out-of-memory failure, whether a backend reported it
// (OutOfMemoryError) or the core's own allocation failed (std::bad_alloc).
#pragma once

#include <napi.h>

#include <new>
#include <string>

#include "core/native_plan.h"

namespace stridekit {

constexpr char kOutOfMemoryCode[] = "ERR_STRIDEKIT_OUT_OF_MEMORY";

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
