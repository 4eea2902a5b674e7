// Core ML itself, for the coreml backend (macOS 12+, compiled with ARC). Everything else is portable C++.
#include "coreml_runtime.h"

#import <CoreML/CoreML.h>
#import <Foundation/Foundation.h>

#include <sys/sysctl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include "model_builder.h"
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
      if (@available(macOS 13.0, *)) return MLComputeUnitsCPUAndNeuralEngine;
      return MLComputeUnitsAll;  // open_runtime() refuses this combination before any plan exists
    case ComputeUnits::kAll: return MLComputeUnitsAll;
  }
  return MLComputeUnitsAll;
}

NSURL* cache_directory() {
  if (const char* env = std::getenv("STRIDEKIT_COREML_CACHE"); env && *env) {
    return [NSURL fileURLWithPath:@(env) isDirectory:YES];
  }
  NSURL* caches = [NSFileManager.defaultManager URLsForDirectory:NSCachesDirectory inDomains:NSUserDomainMask].firstObject;
  if (!caches) caches = [NSURL fileURLWithPath:NSTemporaryDirectory() isDirectory:YES];
  return [caches URLByAppendingPathComponent:@"stridekit-coreml" isDirectory:YES];
}

// MLModel compileModelAtURL: waited for. This runs on one of the core's worker threads, never on the
// JavaScript thread, so waiting is what the caller wants. macOS 13 deprecates the synchronous form in
// favour of the completion handler; both compile the same way.
NSURL* compile(NSURL* package, NSError** error) {
  if (@available(macOS 13.0, *)) {
    __block NSURL* compiled = nil;
    __block NSError* failure = nil;
    dispatch_semaphore_t done = dispatch_semaphore_create(0);
    [MLModel compileModelAtURL:package
             completionHandler:^(NSURL* url, NSError* compile_error) {
               compiled = url;
               failure = compile_error;
               dispatch_semaphore_signal(done);
             }];
    dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
    if (!compiled && error) *error = failure;
    return compiled;
  }
  return [MLModel compileModelAtURL:package error:error];
}

// Compiles spec into <cache>/<hash>.mlmodelc unless it is there. Another process or thread may compile the
// same model at the same time: each compiles into its own temporary place and the first move wins.
NSURL* compiled_model(const std::string& spec) {
  NSFileManager* files = NSFileManager.defaultManager;
  NSURL* cache = cache_directory();
  NSError* error = nil;
  if (![files createDirectoryAtURL:cache withIntermediateDirectories:YES attributes:nil error:&error]) {
    throw std::runtime_error("cannot create the model cache " + std::string(cache.path.UTF8String) + ": " + text_of(error));
  }
  const std::string hash = model_hash(spec);
  NSURL* target = [cache URLByAppendingPathComponent:[NSString stringWithFormat:@"%s.mlmodelc", hash.c_str()] isDirectory:YES];
  if ([files fileExistsAtPath:target.path]) return target;

  // Two plans of this process may compile the same model at once on two worker threads: each gets its own
  // package path.
  static std::atomic<unsigned long> packages_written{0};
  NSString* package_name = [NSString stringWithFormat:@"stridekit-%s-%d-%lu.mlpackage", hash.c_str(), getpid(),
                                                      packages_written.fetch_add(1)];
  NSURL* package = [[NSURL fileURLWithPath:NSTemporaryDirectory() isDirectory:YES] URLByAppendingPathComponent:package_name];
  write_model_package(package.path.UTF8String, spec);
  NSURL* compiled = compile(package, &error);
  [files removeItemAtURL:package error:nil];
  if (!compiled) throw std::runtime_error("Core ML could not compile the model: " + text_of(error));
  if (![files moveItemAtURL:compiled toURL:target error:&error] && ![files fileExistsAtPath:target.path]) {
    throw std::runtime_error("cannot move the compiled model into " + std::string(target.path.UTF8String) + ": " +
                             text_of(error));
  }
  [files removeItemAtURL:compiled error:nil];  // left over when another process won the move
  return target;
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

// Copies a float32 MLMultiArray with any strides into the dense y.
void copy_out(MLMultiArray* from, const std::vector<int64_t>& shape, float* y) {
  if (from.dataType != MLMultiArrayDataTypeFloat32) throw std::runtime_error("Core ML returned a non-float32 output");
  if (from.shape.count != shape.size()) throw std::runtime_error("Core ML returned an output of another rank");
  const size_t rank = shape.size();
  std::vector<int64_t> strides(rank), index(rank, 0);
  int64_t count = 1;
  for (size_t i = 0; i < rank; ++i) {
    if (from.shape[i].longLongValue != shape[i]) throw std::runtime_error("Core ML returned an output of another shape");
    strides[i] = from.strides[i].longLongValue;
    count *= shape[i];
  }
  const float* source = static_cast<const float*>(from.dataPointer);
  for (int64_t n = 0; n < count; ++n) {
    int64_t offset = 0;
    for (size_t i = 0; i < rank; ++i) offset += index[i] * strides[i];
    y[n] = source[offset];
    for (size_t i = rank; i-- > 0;) {
      if (++index[i] < shape[i]) break;
      index[i] = 0;
    }
  }
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
    if (@available(macOS 13.0, *)) {
    } else {
      *reason = "STRIDEKIT_COREML_UNITS=cpuAndNeuralEngine needs macOS 13 or later";
      return false;
    }
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

std::shared_ptr<LoadedModel> load_model(const std::string& spec) {
  auto loaded = std::make_shared<LoadedModel>();
  with_core_ml([&] {
    NSURL* url = compiled_model(spec);
    MLModelConfiguration* configuration = [[MLModelConfiguration alloc] init];
    configuration.computeUnits = ml_compute_units(g_units);
    NSError* error = nil;
    loaded->model = [MLModel modelWithContentsOfURL:url configuration:configuration error:&error];
    if (!loaded->model) {
      // A damaged cache entry must not stay: the next plan compiles it again.
      [NSFileManager.defaultManager removeItemAtURL:url error:nil];
      throw std::runtime_error("Core ML could not load the compiled model: " + text_of(error));
    }
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
    if (@available(macOS 12.0, *)) options.outputBackings = @{@(kOutputName) : output};
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
