#include "core/js_error.h"

#include <cstring>
#include <exception>
#include <new>

namespace stridekit {

void throw_backend_status(sk_status status, const std::string& message) {
  if (status == SK_ERROR_OUT_OF_MEMORY) throw OutOfMemoryError(message);
  throw BackendError(message);
}

std::string backend_message(const sk_error& error) {
  const void* end = std::memchr(error.message, '\0', sizeof(error.message));
  const size_t length = end ? static_cast<const char*>(end) - error.message : sizeof(error.message) - 1;
  return std::string(error.message, length);
}

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
