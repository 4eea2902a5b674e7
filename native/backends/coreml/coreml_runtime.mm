// Core ML itself, for the coreml backend (compiled with ARC). Everything else is portable C++, the cache
// policy included (model_cache.cc).
//
// Built for macOS 11 (plugin.cmake) with any SDK from macOS 12's (Xcode 13): a symbol newer than macOS 11
// is used only inside @available, and one newer than the oldest SDK only inside
// `#if __MAC_OS_X_VERSION_MAX_ALLOWED >= ...` as well; test/coreml-runtime-typecheck.test.js checks both
// against the SDKs of macOS 12, 13 and 14. On macOS 11 open_runtime() makes the backend unavailable.
#include "coreml_runtime.h"

#import <CoreML/CoreML.h>
#import <Foundation/Foundation.h>

#include <sys/sysctl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "model_builder.h"
#include "model_cache.h"
#include "model_package.h"

struct stridekit::coreml::LoadedModel {
  MLModel* model = nil;
};

namespace stridekit::coreml {
namespace {

ComputeUnits g_units = ComputeUnits::kAll;

std::string text_of(NSError* error) {
  if (!error) return "unknown error";
  return std::string(error.localizedDescription.UTF8String ?: "unknown error");
}

std::string machine_name() {
  char brand[256] = {0};
  size_t size = sizeof(brand);
  if (sysctlbyname("machdep.cpu.brand_string", brand, &size, nullptr, 0) == 0 && brand[0]) return brand;
  return "this Mac";
}

MLComputeUnits ml_compute_units(ComputeUnits units) {
  switch (units) {
    case ComputeUnits::kCpuOnly: return MLComputeUnitsCPUOnly;
    case ComputeUnits::kCpuAndGpu: return MLComputeUnitsCPUAndGPU;
    case ComputeUnits::kCpuAndNeuralEngine:
      // A macOS 13 SDK symbol: open_runtime() refuses these units before any plan exists on macOS 12,
      // and in a plugin built with Xcode 13 (macOS 12 SDK), which has no such units.
#if __MAC_OS_X_VERSION_MAX_ALLOWED >= 130000
      if (@available(macOS 13.0, *)) return MLComputeUnitsCPUAndNeuralEngine;
#endif
      return MLComputeUnitsAll;
    case ComputeUnits::kAll: return MLComputeUnitsAll;
  }
  return MLComputeUnitsAll;
}

std::string cache_directory() {
  if (const char* env = std::getenv("STRIDEKIT_COREML_CACHE"); env && *env) return env;
  NSURL* caches = [NSFileManager.defaultManager URLsForDirectory:NSCachesDirectory inDomains:NSUserDomainMask].firstObject;
  if (!caches) caches = [NSURL fileURLWithPath:NSTemporaryDirectory() isDirectory:YES];
  return std::string([caches URLByAppendingPathComponent:@"stridekit-coreml" isDirectory:YES].fileSystemRepresentation);
}

// The OS build (kern.osversion, e.g. 23A344): it changes with every update, which may change Core ML.
std::string os_build() {
  char build[64] = {0};
  size_t size = sizeof(build);
  if (sysctlbyname("kern.osversion", build, &size, nullptr, 0) == 0 && build[0]) return build;
  return "unknown";
}

// CoreML.framework's bundle version: a compiled model is Core ML's private format.
std::string core_ml_version() {
  NSDictionary<NSString*, id>* info = [NSBundle bundleForClass:[MLModel class]].infoDictionary;
  id version = info[@"CFBundleVersion"];
  if (![version isKindOfClass:[NSString class]]) return "unknown";
  return std::string(static_cast<NSString*>(version).UTF8String ?: "unknown");
}

// How long a plan waits for Core ML to compile one model before it fails. convSync and runSync call the
// backend on the JavaScript thread, so a compile that never finishes would hang the process for good; a
// failure names the model and lets the caller go on (a later call compiles again).
constexpr int64_t kCompileTimeoutSeconds = 300;

// One compile, shared with Core ML's completion handler, which may outlive the wait.
struct Compilation {
  std::mutex mutex;
  NSURL* url = nil;
  NSError* error = nil;
  bool finished = false;
  bool abandoned = false;  // the waiter timed out: the handler cleans up
  NSURL* package = nil;
  dispatch_semaphore_t done = dispatch_semaphore_create(0);
};

void finish(const std::shared_ptr<Compilation>& c, NSURL* url, NSError* error) {
  std::lock_guard<std::mutex> lock(c->mutex);
  if (c->abandoned) {
    if (url) [NSFileManager.defaultManager removeItemAtURL:url error:nil];
    [NSFileManager.defaultManager removeItemAtURL:c->package error:nil];
    return;
  }
  c->url = url;
  c->error = error;
  c->finished = true;
  dispatch_semaphore_signal(c->done);
}

// Compiles package with Core ML, waiting at most kCompileTimeoutSeconds; returns Core ML's temporary
// .mlmodelc. The wait happens on whichever thread runs the plan: a worker thread for conv() and run(),
// the JavaScript thread for convSync() and runSync(), whose event loop it blocks for that long at most.
// macOS 13 deprecates the synchronous compileModelAtURL:error: for the completion handler form; before
// 13 the synchronous one runs on a global queue so that the wait can time out the same way.
NSURL* compile(NSURL* package) {
  auto c = std::make_shared<Compilation>();
  c->package = package;
#if __MAC_OS_X_VERSION_MAX_ALLOWED >= 130000
  if (@available(macOS 13.0, *)) {
    [MLModel compileModelAtURL:package
             completionHandler:^(NSURL* url, NSError* compile_error) {
               finish(c, url, compile_error);
             }];
  } else
#endif
  {
    dispatch_async(dispatch_get_global_queue(QOS_CLASS_USER_INITIATED, 0), ^{
      NSError* compile_error = nil;
      NSURL* url = [MLModel compileModelAtURL:package error:&compile_error];
      finish(c, url, compile_error);
    });
  }
  dispatch_semaphore_wait(c->done, dispatch_time(DISPATCH_TIME_NOW, kCompileTimeoutSeconds * int64_t{NSEC_PER_SEC}));
  std::lock_guard<std::mutex> lock(c->mutex);
  if (!c->finished) {
    c->abandoned = true;
    throw std::runtime_error("Core ML did not finish compiling the model within " +
                             std::to_string(kCompileTimeoutSeconds) + " s");
  }
  if (!c->url) throw std::runtime_error("Core ML could not compile the model: " + text_of(c->error));
  return c->url;
}

// Writes model as a package inside staging (the cache's own folder, on its volume), compiles it and moves
// Core ML's result, which lies in a temporary folder that may be on another volume, to
// staging/model.mlmodelc: a copy there is fine, as nothing reads staging until ModelCache publishes it
// with one rename.
void compile_into(const Model& model, const std::filesystem::path& staging) {
  const std::filesystem::path package_path = staging / "model.mlpackage";
  write_model_package(package_path.string(), model);
  NSURL* package = [NSURL fileURLWithFileSystemRepresentation:package_path.c_str() isDirectory:YES relativeToURL:nil];
  NSURL* compiled = compile(package);
  NSURL* target = [NSURL fileURLWithFileSystemRepresentation:(staging / "model.mlmodelc").c_str()
                                                 isDirectory:YES
                                               relativeToURL:nil];
  NSError* error = nil;
  const BOOL moved = [NSFileManager.defaultManager moveItemAtURL:compiled toURL:target error:&error];
  [NSFileManager.defaultManager removeItemAtURL:package error:nil];
  if (!moved) {
    [NSFileManager.defaultManager removeItemAtURL:compiled error:nil];
    throw std::runtime_error("cannot move the compiled model into the cache: " + text_of(error));
  }
}

ModelCache& model_cache() {
  static ModelCache cache(cache_directory(), CacheLimits{});
  return cache;
}

NSArray<NSNumber*>* numbers(const std::vector<int64_t>& values) {
  NSMutableArray<NSNumber*>* out = [NSMutableArray arrayWithCapacity:values.size()];
  for (int64_t v : values) [out addObject:@(v)];
  return out;
}

NSArray<NSNumber*>* dense_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return numbers(strides);
}

MLMultiArray* wrap(const std::vector<int64_t>& shape, float* data) {
  NSError* error = nil;
  MLMultiArray* array = [[MLMultiArray alloc] initWithDataPointer:data
                                                            shape:numbers(shape)
                                                         dataType:MLMultiArrayDataTypeFloat32
                                                          strides:dense_strides(shape)
                                                      deallocator:nil
                                                            error:&error];
  if (!array) throw std::runtime_error("cannot wrap a buffer as an MLMultiArray: " + text_of(error));
  return array;
}

// Copies strided float32 elements into the dense y; false when an element would lie past bytes (when
// known, else -1).
bool strided_copy(const float* source, int64_t bytes, const std::vector<int64_t>& shape,
                  const std::vector<int64_t>& strides, float* y) {
  const size_t rank = shape.size();
  int64_t last = 0, count = 1;
  for (size_t i = 0; i < rank; ++i) {
    if (strides[i] < 0) return false;
    last += (shape[i] - 1) * strides[i];
    count *= shape[i];
  }
  if (bytes >= 0 && (last + 1) * static_cast<int64_t>(sizeof(float)) > bytes) return false;
  std::vector<int64_t> index(rank, 0);
  for (int64_t n = 0; n < count; ++n) {
    int64_t offset = 0;
    for (size_t i = 0; i < rank; ++i) offset += index[i] * strides[i];
    y[n] = source[offset];
    for (size_t i = rank; i-- > 0;) {
      if (++index[i] < shape[i]) break;
      index[i] = 0;
    }
  }
  return true;
}

// Copies a float32 MLMultiArray with any strides into the dense y. Its storage is read through
// getBytesWithHandler: where it exists (macOS 12.3), as Apple's header asks, since an array may not keep
// its elements in one buffer otherwise; before 12.3, through dataPointer, the only way there is.
void copy_out(MLMultiArray* from, const std::vector<int64_t>& shape, float* y) {
  if (from.dataType != MLMultiArrayDataTypeFloat32) throw std::runtime_error("Core ML returned a non-float32 output");
  if (from.shape.count != shape.size()) throw std::runtime_error("Core ML returned an output of another rank");
  std::vector<int64_t> strides(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (from.shape[i].longLongValue != shape[i]) throw std::runtime_error("Core ML returned an output of another shape");
    strides[i] = from.strides[i].longLongValue;
  }
  __block bool copied = false;
#if __MAC_OS_X_VERSION_MAX_ALLOWED >= 120300
  if (@available(macOS 12.3, *)) {
    // No exception may leave the block (Core ML's frames are not unwound); the result is checked after.
    [from getBytesWithHandler:^(const void* bytes, NSInteger size) {
      copied = strided_copy(static_cast<const float*>(bytes), size, shape, strides, y);
    }];
  } else
#endif
  {
    copied = strided_copy(static_cast<const float*>(from.dataPointer), -1, shape, strides, y);
  }
  if (!copied) throw std::runtime_error("Core ML returned an output whose strides lie outside its storage");
}

}  // namespace

bool open_runtime(std::string* device, std::string* reason) {
  if (!parse_compute_units(std::getenv("STRIDEKIT_COREML_UNITS"), &g_units, reason)) return false;
  if (@available(macOS 12.0, *)) {
  } else {
    *reason = "Core ML ML Programs need macOS 12 or later";
    return false;
  }
  if (g_units == ComputeUnits::kCpuAndNeuralEngine) {
#if __MAC_OS_X_VERSION_MAX_ALLOWED >= 130000
    if (@available(macOS 13.0, *)) {
    } else {
      *reason = "STRIDEKIT_COREML_UNITS=cpuAndNeuralEngine needs macOS 13 or later";
      return false;
    }
#else
    *reason = "STRIDEKIT_COREML_UNITS=cpuAndNeuralEngine: this coreml plugin was built with the macOS 12 SDK, "
              "which has no such compute units (build it with Xcode 14 or later)";
    return false;
#endif
  }
  *device = "Core ML, compute units " + std::string(compute_units_name(g_units)) + ", " + machine_name();
  return true;
}

ComputeUnits runtime_units() { return g_units; }

// Core ML's failures become one message; a C++ exception never unwinds through an @autoreleasepool (ARC
// does not drain a pool that an exception leaves), so they are caught inside and thrown after it.
template <typename Body>
void with_core_ml(Body&& body) {
  std::string failure;
  @autoreleasepool {
    try {
      @try {
        body();
      } @catch (NSException* exception) {
        failure = "Core ML raised " + std::string(exception.name.UTF8String ?: "an exception") + ": " +
                  std::string(exception.reason.UTF8String ?: "");
      }
    } catch (const std::bad_alloc&) {
      failure = "out of memory";
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  if (!failure.empty()) throw std::runtime_error(failure);
}

std::shared_ptr<LoadedModel> load_model(const Model& model) {
  static const std::string os = os_build();
  auto loaded = std::make_shared<LoadedModel>();
  with_core_ml([&] {
    static const std::string core_ml = core_ml_version();
    ModelCache& cache = model_cache();
    const std::string key = cache_key(model_hash(model), os, core_ml);
    {
      // The lease keeps every prune, in this process or another, away until the model is loaded.
      ModelCache::Lease lease =
          cache.acquire(key, [&](const std::filesystem::path& staging) { compile_into(model, staging); });
      NSURL* url = [NSURL fileURLWithFileSystemRepresentation:lease.model().c_str() isDirectory:YES relativeToURL:nil];
      MLModelConfiguration* configuration = [[MLModelConfiguration alloc] init];
      configuration.computeUnits = ml_compute_units(g_units);
      NSError* error = nil;
      loaded->model = [MLModel modelWithContentsOfURL:url configuration:configuration error:&error];
      if (!loaded->model) {
        // A damaged cache entry must not stay: the next plan compiles it again.
        cache.discard(key);
        throw std::runtime_error("Core ML could not load the compiled model: " + text_of(error));
      }
    }
    cache.prune();
  });
  return loaded;
}

void predict(LoadedModel& loaded, const std::vector<int64_t>& x_shape, const float* x,
             const std::vector<int64_t>& y_shape, float* y) {
  with_core_ml([&] {
    // Core ML only reads an input array; the const_cast lets MLMultiArray wrap the caller's buffer.
    MLMultiArray* input = wrap(x_shape, const_cast<float*>(x));
    MLMultiArray* output = wrap(y_shape, y);
    NSError* error = nil;
    MLDictionaryFeatureProvider* features = [[MLDictionaryFeatureProvider alloc]
        initWithDictionary:@{@(kInputName) : [MLFeatureValue featureValueWithMultiArray:input]}
                     error:&error];
    if (!features) throw std::runtime_error("cannot pass the input to Core ML: " + text_of(error));
    MLPredictionOptions* options = [[MLPredictionOptions alloc] init];
    // Apple's page gives outputBackings macOS 11 beside iOS 16, the release that added it everywhere
    // else; until a Mac has shown macOS 12 to answer the selector, it is set from macOS 13 only (before,
    // Core ML allocates y itself and it is copied).
    if (@available(macOS 13.0, *)) options.outputBackings = @{@(kOutputName) : output};
    id<MLFeatureProvider> result = [loaded.model predictionFromFeatures:features options:options error:&error];
    if (!result) throw std::runtime_error("Core ML prediction failed: " + text_of(error));
    MLMultiArray* produced = [result featureValueForName:@(kOutputName)].multiArrayValue;
    if (!produced) throw std::runtime_error("Core ML returned no output named y");
    // Core ML may decline an output backing; it then returns another array (compared by identity, as
    // Apple documents) and the values are copied.
    if (produced != output) copy_out(produced, y_shape, y);
  });
}

}  // namespace stridekit::coreml
