/*
 * stridekit backend ABI — the one contract between the core addon and every backend.
 *
 * The TypeScript facade (lib/) owns what the user passes: argument checks, shapes, padding and
 * layouts. The core (a node-addon-api module) owns plans, buffers, the threads that run async work
 * and the Errors JavaScript sees. A backend only ever sees the plain C structs below, with every
 * stride, dilation and [begin, end] pad already explicit. It never derives them again.
 *
 * What the core checks, once, where a request enters it (native/core/request.cc), before any
 * backend sees it, so that no backend needs to check it again: rank is 1 to SK_MAX_RANK; every
 * count, size, kernel, stride and dilation is at least 1 and every pad at least 0, with the unused
 * trailing entries 1 (pads 0); groups divides both channel counts; the enums hold one of their
 * values; no tensor has more than 2^53 elements; every pointer is non-NULL but bias, which is NULL
 * exactly when has_bias is 0; and every buffer holds the elements its shape says. (The vendor
 * plugins still answer a NULL pointer with SK_ERROR_INVALID: a shared library can be called by any
 * host, and their test harnesses call them directly.)
 *
 * Backends are reached through the table below, whether compiled into the core (cpu) or loaded as a
 * shared library that exports one symbol, SK_BACKEND_ENTRY_SYMBOL (openvino, cudnn, coreml).
 * The loader refuses a table whose abi_version differs from SK_BACKEND_ABI_VERSION and reports both
 * versions and the file's path.
 *
 * What else the loader checks, so that a broken plugin is an unavailable backend with a reason and
 * never a crash (native/core/backend_registry.cc, native/core/plugin_file.cc):
 * - before dlopen, the file: a non-empty regular file in this platform's format (on Linux an ELF
 *   shared object of this process's class, byte order and machine) whose headers, segments and
 *   sections all lie within the file, so a truncated copy is refused rather than mapped;
 * - the entry symbol is a function (not data) in the library's code;
 * - the table: abi_version; struct_size at least sizeof(sk_backend) of this header (a larger
 *   struct_size, from a newer header that appended entries, is accepted and the core reads only the
 *   entries it knows); name non-NULL and equal to the backend the file is installed as
 *   (libstridekit_<name>); probe, plan_create, plan_run and plan_destroy non-NULL, whatever the
 *   probe would say; the five device-buffer entries all set or all NULL. Only then is probe called.
 *
 * Threading: probe() is called once, on the loader's thread. plan_create, plan_run and plan_destroy
 * may be called from any thread, and plan_run may be called concurrently on different plans;
 * the core never runs one plan concurrently with itself or with its destruction.
 */
#ifndef STRIDEKIT_BACKEND_H
#define STRIDEKIT_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* snprintf, in SK_DEFINE_BACKEND_ENTRY_NAMED */

#ifdef __cplusplus
extern "C" {
#endif

/* Bump on any change to the structs or the function table below. (4: sk_probe_result.device_kind;
 * 5: SK_PRECISION_BF16 and sk_probe_result.precisions.) */
#define SK_BACKEND_ABI_VERSION 5u

#define SK_MAX_RANK 3
#define SK_REASON_MAX 512
#define SK_DEVICE_MAX 256

#define SK_BACKEND_ENTRY_SYMBOL "stridekit_backend_entry"

#if defined(_WIN32)
#define SK_EXPORT __declspec(dllexport)
#else
#define SK_EXPORT __attribute__((visibility("default")))
#endif

typedef enum sk_layout {
  SK_LAYOUT_CHANNELS_FIRST = 0, /* (N, C, ...spatial) */
  SK_LAYOUT_CHANNELS_LAST = 1   /* (N, ...spatial, C) */
} sk_layout;

typedef enum sk_activation {
  SK_ACTIVATION_NONE = 0,
  SK_ACTIVATION_RELU = 1,
  SK_ACTIVATION_RELU6 = 2,
  SK_ACTIVATION_SIGMOID = 3,
  SK_ACTIVATION_TANH = 4,
  SK_ACTIVATION_SILU = 5
} sk_activation;

/* What arithmetic a backend may use. FP32 is exact single precision, the default, and what the
 * conformance tolerances assume. TF32, FP16 and BF16 are permissions, as PyTorch's allow_tf32 is: a
 * backend whose hardware has no faster mode runs fp32 and is still correct. Inputs and outputs are
 * float32 whatever the precision. A probe says which of them the backend honours on this machine
 * (sk_probe_result.precisions). */
typedef enum sk_precision {
  SK_PRECISION_FP32 = 0,
  SK_PRECISION_TF32 = 1, /* tensor-core TF32: fp32 storage, 10-bit mantissa products, fp32 sums */
  SK_PRECISION_FP16 = 2, /* half-precision storage and arithmetic where the device prefers it */
  SK_PRECISION_BF16 = 3  /* x and w rounded to bfloat16 (8 significant bits), products summed in fp32:
                          * AVX512-BF16 or AMX on a CPU, OpenVINO's bf16 inference precision */
} sk_precision;

typedef enum sk_status {
  SK_OK = 0,
  SK_ERROR_INVALID = 1,     /* the request is inconsistent (a core bug, never a user error) */
  SK_ERROR_UNSUPPORTED = 2, /* this backend cannot run this convolution */
  SK_ERROR_OUT_OF_MEMORY = 3,
  SK_ERROR_DEVICE = 4       /* the vendor runtime failed */
} sk_status;

/* Fixed when a plan is created: everything but the input's batch and spatial size. Unused trailing
 * entries of the per-dimension arrays (index >= rank) are 1 for kernel, stride and dilation. */
typedef struct sk_conv_geometry {
  uint32_t struct_size;      /* sizeof(sk_conv_geometry), for forward compatibility */
  int32_t rank;              /* 1, 2 or 3 spatial dimensions */
  int32_t transposed;        /* 0: convolution, 1: transposed convolution (gradient of conv wrt input) */
  int32_t layout;            /* sk_layout of input and output */
  int32_t activation;        /* sk_activation, applied after the bias */
  int32_t has_bias;
  int64_t groups;
  int64_t in_channels;       /* C */
  int64_t out_channels;      /* K */
  int64_t kernel[SK_MAX_RANK];
  int64_t stride[SK_MAX_RANK];
  int64_t dilation[SK_MAX_RANK];
  int32_t precision;         /* sk_precision */
  int32_t reserved;          /* zero; keeps the struct free of padding bytes so it can be compared */
} sk_conv_geometry;

/* Resolved for one input shape. For a transposed plan out_size already includes outputPadding; output
 * elements that no input reaches hold only bias and activation. */
typedef struct sk_conv_shape {
  uint32_t struct_size;
  int64_t batch;
  int64_t in_size[SK_MAX_RANK];
  int64_t out_size[SK_MAX_RANK];
  int64_t pad_begin[SK_MAX_RANK];
  int64_t pad_end[SK_MAX_RANK];
} sk_conv_shape;

/* What kind of processor runs a backend's work. The facade ranks a backend above the built-in cpu
 * backend only when its work runs on a GPU or NPU: a vendor runtime on the same CPU cores as the cpu
 * backend adds model compilation and copies without adding arithmetic throughput. */
typedef enum sk_device_kind {
  SK_DEVICE_KIND_UNKNOWN = 0, /* not said, or decided only at run time (OpenVINO's AUTO, MULTI, HETERO) */
  SK_DEVICE_KIND_CPU = 1,
  SK_DEVICE_KIND_GPU = 2,
  SK_DEVICE_KIND_NPU = 3 /* a neural processor: Intel NPU, Apple's Neural Engine */
} sk_device_kind;

typedef struct sk_probe_result {
  int32_t available;
  char reason[SK_REASON_MAX]; /* why not available; empty when available */
  char device[SK_DEVICE_MAX]; /* what runs the work when available: "AMD EPYC, 2 threads, avx2+fma" */
  int32_t threads;            /* host threads a run computes on (the CPU backend's pool); 0: not said */
  int32_t device_kind;        /* sk_device_kind of `device`; the core zero-fills it (unknown) */
  /* The precisions this backend computes in when a plan permits them, on this machine: bit
   * (1u << sk_precision) for each. A precision whose bit is clear runs as fp32. FP32's bit is always
   * meant set; the core zero-fills the field and reads 0 as fp32 only. */
  uint32_t precisions;
} sk_probe_result;

typedef struct sk_error {
  char message[SK_REASON_MAX];
} sk_error;

typedef struct sk_plan sk_plan;     /* opaque, owned by the backend */
typedef struct sk_buffer sk_buffer; /* opaque device memory, owned by the backend */

typedef struct sk_backend {
  uint32_t abi_version; /* SK_BACKEND_ABI_VERSION */
  uint32_t struct_size; /* sizeof(sk_backend) */
  const char* name;     /* "cpu", "openvino", "cudnn", "coreml" */

  /* Fills *result. Never throws, never aborts: a missing device or library is a reason. */
  void (*probe)(sk_probe_result* result);

  /* Weights always arrive in the channels-first layout of PyTorch and ONNX: convolution
   * (K, C/groups, ...kernel), transposed (C, K/groups, ...kernel). bias has K values or is NULL.
   * The backend copies or packs what it needs; the caller's buffers may be freed on return. */
  sk_status (*plan_create)(const sk_conv_geometry* geometry, const float* weight, const float* bias,
                           sk_plan** plan, sk_error* error);

  /* x and y are dense float32 in the geometry's layout, sizes as given by shape. y is fully written. */
  sk_status (*plan_run)(sk_plan* plan, const sk_conv_shape* shape, const float* x, float* y,
                        sk_error* error);

  void (*plan_destroy)(sk_plan* plan);

  /* Device-resident tensors. A backend whose memory is the host's (cpu, openvino on CPU) leaves all
   * five NULL: the core then keeps such tensors in host memory and runs them through plan_run, so
   * they cost nothing. A backend with its own memory (cudnn) fills all five.
   *
   * buffer_create reports SK_ERROR_OUT_OF_MEMORY, never aborts, when the device is full.
   * buffer_write and buffer_read copy the whole buffer and return when the copy is complete.
   * plan_run_device reads x and fully writes y, both device buffers of this backend holding dense
   * float32 in the geometry's layout, and returns when y is complete, so a buffer written by one plan
   * may be read by any other plan or by buffer_read without further synchronisation. */
  sk_status (*buffer_create)(size_t bytes, sk_buffer** buffer, sk_error* error);
  sk_status (*buffer_write)(sk_buffer* buffer, const void* source, size_t bytes, sk_error* error);
  sk_status (*buffer_read)(const sk_buffer* buffer, void* destination, size_t bytes, sk_error* error);
  void (*buffer_destroy)(sk_buffer* buffer);
  sk_status (*plan_run_device)(sk_plan* plan, const sk_conv_shape* shape, const sk_buffer* x,
                               sk_buffer* y, sk_error* error);
} sk_backend;

/* The one symbol a plugin exports. host_abi_version lets a plugin refuse an older host politely
 * (return NULL and write the reason) instead of misreading its structs. A backend compiled into the
 * core has an entry function of the same type under its own name, which the core declares with it. */
typedef const sk_backend* sk_backend_entry(uint32_t host_abi_version, sk_error* error);
typedef sk_backend_entry* sk_backend_entry_fn;

#ifdef __cplusplus
}
#endif

/* One macro emits the entry point, so every backend is reached the same way: a plugin exports
 * SK_DEFINE_BACKEND_ENTRY(table); a backend compiled into the core (cpu) names its entry function
 * with SK_DEFINE_BACKEND_ENTRY_NAMED and the loader calls it exactly as it calls a plugin's. */
#define SK_DEFINE_BACKEND_ENTRY_NAMED(function, table)                                             \
  extern "C" const sk_backend* function(uint32_t host_abi_version, sk_error* error) {             \
    if (host_abi_version != SK_BACKEND_ABI_VERSION) {                                             \
      if (error) {                                                                                \
        snprintf(error->message, sizeof(error->message),                                          \
                 "backend built for ABI %u, host has ABI %u", SK_BACKEND_ABI_VERSION,            \
                 host_abi_version);                                                               \
      }                                                                                           \
      return NULL;                                                                                \
    }                                                                                             \
    return &(table);                                                                              \
  }

#define SK_DEFINE_BACKEND_ENTRY(table) \
  extern "C" SK_EXPORT const sk_backend* stridekit_backend_entry(uint32_t, sk_error*); \
  SK_DEFINE_BACKEND_ENTRY_NAMED(stridekit_backend_entry, table)

#endif /* STRIDEKIT_BACKEND_H */
