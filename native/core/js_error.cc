#include "core/js_error.h"

#include <exception>

namespace stridekit {

Failure current_failure() {
  try {
    throw;
  } catch (const OutOfMemoryError& e) {
    return {e.what(), kOutOfMemoryCode};
  } catch (const std::bad_alloc&) {
    return {"out of host memory", kOutOfMemoryCode};
  } catch (const std::exception& e) {
    return {e.what()[0] ? e.what() : "native failure", ""};
  } catch (...) {
    return {"native failure", ""};
  }
}

Napi::Error js_error(Napi::Env env, const Failure& failure) {
  Napi::Error error = Napi::Error::New(env, failure.message);
  if (!failure.code.empty()) error.Set("code", Napi::String::New(env, failure.code));
  return error;
}

}  // namespace stridekit
