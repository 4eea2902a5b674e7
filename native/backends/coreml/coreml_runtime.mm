// Core ML itself, for the coreml backend (macOS 12+, compiled with ARC). Everything else is portable C++.
#include "coreml_runtime.h"

#import <CoreML/CoreML.h>
#import <Foundation/Foundation.h>

#include <sys/sysctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
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

MLComputeUnits ml_compute_units(ComputeUnits units) API_AVAILABLE(macos(12.0)) {
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

// Compiles spec into <cache>/<hash>.mlmodelc unless it is there. Another process may compile the same
// model at the same time: each compiles into its own temporary place and the first move wins.
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

  NSString* package_name = [NSString stringWithFormat:@"stridekit-%s-%d.mlpackage", hash.c_str(), getpid()];
  NSURL* package = [[NSURL fileURLWithPath:NSTemporaryDirectory() isDirectory:YES] URLByAppendingPathComponent:package_name];
  write_model_package(package.path.UTF8String, spec);
  // The synchronous form: plan_run already runs off the JavaScript thread (the core's worker pool).
  NSURL* compiled = [MLModel compileModelAtURL:package error:&error];
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

std::shared_ptr<LoadedModel> load_model(const std::string& spec) {
  @autoreleasepool {
    auto loaded = std::make_shared<LoadedModel>();
    @try {
      NSURL* url = compiled_model(spec);
      MLModelConfiguration* configuration = [[MLModelConfiguration alloc] init];
      if (@available(macOS 12.0, *)) configuration.computeUnits = ml_compute_units(g_units);
      NSError* error = nil;
      loaded->model = [MLModel modelWithContentsOfURL:url configuration:configuration error:&error];
      if (!loaded->model) {
        // A damaged cache entry must not stay: the next plan compiles it again.
        [NSFileManager.defaultManager removeItemAtURL:url error:nil];
        throw std::runtime_error("Core ML could not load the compiled model: " + text_of(error));
      }
    } @catch (NSException* exception) {
      throw std::runtime_error("Core ML raised " + std::string(exception.name.UTF8String) + ": " +
                               std::string(exception.reason.UTF8String ?: ""));
    }
    return loaded;
  }
}

void predict(LoadedModel& loaded, const std::vector<int64_t>& x_shape, const float* x,
             const std::vector<int64_t>& y_shape, float* y) {
  @autoreleasepool {
    @try {
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
      if (produced.dataPointer != static_cast<void*>(y)) copy_out(produced, y_shape, y);
    } @catch (NSException* exception) {
      throw std::runtime_error("Core ML raised " + std::string(exception.name.UTF8String) + ": " +
                               std::string(exception.reason.UTF8String ?: ""));
    }
  }
}

}  // namespace stridekit::coreml
