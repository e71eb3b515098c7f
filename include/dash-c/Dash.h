/*===- Dash.h - C API of the Dash attention compiler --------------*- C -*-===*\
|*                                                                            *|
|* A stable C interface to Dash for languages without C++ bindings (Python    *|
|* through ctypes, Rust, Julia, ...): compile one DashAttention configuration *|
|* for the host CPU or for CUDA and run its forward and backward passes on    *|
|* raw buffers. Only plain C types cross this boundary; handles are opaque.   *|
|*                                                                            *|
|* Errors: every function that can fail returns a DashStatus. The message of  *|
|* the latest failure on a context is dashGetLastError(ctx); failures where   *|
|* no context is known (a NULL context or kernel) are reported by             *|
|* dashGetLastError(NULL), per thread. NULL handles and pointers never crash: *|
|* they give DASH_STATUS_INVALID_ARGUMENT naming the argument.                *|
|*                                                                            *|
|* Buffers are dense, contiguous and row-major in the documented shapes (no   *|
|* strides yet: callers make strided tensors contiguous first). For          *|
|* DASH_TARGET_CPU they are host pointers; for DASH_TARGET_CUDA they are      *|
|* device pointers of the current device's primary context.                   *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef DASH_C_DASH_H
#define DASH_C_DASH_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define DASH_C_EXPORT __declspec(dllexport)
#else
#define DASH_C_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Raised when a struct layout or a function's meaning changes, so that
 * bindings that declare the layout themselves (ctypes) can refuse to run
 * against a library they do not match. */
#define DASH_C_API_VERSION 1

typedef enum DashStatus {
  DASH_STATUS_OK = 0,
  /* A NULL or inconsistent argument, or a configuration the verifier
   * rejects; the message names the problem. */
  DASH_STATUS_INVALID_ARGUMENT = 1,
  /* The configuration is valid but could not be compiled. */
  DASH_STATUS_COMPILE_ERROR = 2,
  /* The compiled code failed while running (e.g. a CUDA launch error). */
  DASH_STATUS_RUNTIME_ERROR = 3,
  /* DASH_TARGET_CUDA without a usable driver or device. */
  DASH_STATUS_CUDA_UNAVAILABLE = 4,
} DashStatus;

typedef enum DashTarget {
  DASH_TARGET_CPU = 0,
  DASH_TARGET_CUDA = 1,
} DashTarget;

typedef enum DashPrior {
  DASH_PRIOR_RAW = 0,
  DASH_PRIOR_CENTERED = 1,
  DASH_PRIOR_FLAT = 2,
} DashPrior;

/* Element type of Q, K, V, W, O and the gradients; bf16 and f16 buffers hold
 * 16-bit patterns. LSE is always f32 and counts int32. */
typedef enum DashDType {
  DASH_DTYPE_F32 = 0,
  DASH_DTYPE_BF16 = 1,
  DASH_DTYPE_F16 = 2,
  DASH_DTYPE_F64 = 3,
} DashDType;

/* One attention configuration (spec section 1). Initialise it with
 * dashAttentionConfigInit, then set fields. Enumerations are stored as
 * int32_t so that the layout does not depend on the compiler's enum size. */
typedef struct DashAttentionConfig {
  int64_t batch, heads, kv_heads, seq_len, head_dim;
  int64_t block_size;
  double alpha, gamma, sigma;
  int32_t prior; /* DashPrior */
  int32_t dtype; /* DashDType */
  int64_t local_blocks, init_blocks;
  /* Softmax scale; 0 or NaN means 1/sqrt(head_dim). */
  double scale;
  /* Nonzero: the learned summary query W [kv_heads, head_dim] is an input
   * of the forward pass and dW an output of the backward pass. */
  int32_t with_summary_query;
  /* Zero is the spec's router_grad = none. */
  int32_t router_grad;
} DashAttentionConfig;

typedef struct DashContextImpl *DashContext;
typedef struct DashKernelImpl *DashKernel;

/* DASH_C_API_VERSION of the library. */
DASH_C_EXPORT int32_t dashGetApiVersion(void);

/* The spec's defaults: B = H = Hkv = 1, N = D = block_size = 64, alpha 1.5,
 * gamma 1, sigma 1, centered prior, f32, default scale, no W, full router
 * gradient. A NULL config is ignored. */
DASH_C_EXPORT void dashAttentionConfigInit(DashAttentionConfig *config);

/* A context owns the cache of compiled kernels and the last error. It may be
 * used from several threads; compilations within one context are
 * serialised. Destroying it while kernels are alive is allowed: they keep
 * what they need until released. */
DASH_C_EXPORT DashStatus dashContextCreate(DashContext *context);
DASH_C_EXPORT void dashContextDestroy(DashContext context);

/* The message of the latest failure on `context` (any thread), or, for a
 * NULL context, of the latest failure of this thread that had no context.
 * Empty when there was none. Valid until the next call from this thread. */
DASH_C_EXPORT const char *dashGetLastError(DashContext context);

/* Compiles the forward pass of `config` for `target` (the backward pass is
 * compiled on the first dashBackward). Kernels are cached in the context by
 * configuration and target: compiling the same configuration again returns
 * a new handle to the same code at no cost. There is no on-disk cache yet.
 * DASH_TARGET_CUDA needs the driver and a device (to pick the chip) at
 * compile time, else DASH_STATUS_CUDA_UNAVAILABLE. */
DASH_C_EXPORT DashStatus dashCompile(DashContext context,
                                     const DashAttentionConfig *config,
                                     DashTarget target, DashKernel *kernel);

/* Releases a handle from dashCompile (NULL is ignored). */
DASH_C_EXPORT void dashKernelRelease(DashKernel kernel);

/* The configuration and target the kernel was compiled for. */
DASH_C_EXPORT DashStatus dashKernelGetConfig(DashKernel kernel,
                                             DashAttentionConfig *config,
                                             DashTarget *target);

/* Number of distinct kernels in the context's cache. */
DASH_C_EXPORT int64_t dashContextCachedKernels(DashContext context);

/* Forward pass (spec F1-F6): q [B, H, N, D], k and v [B, Hkv, N, D], w
 * [Hkv, D] (only with with_summary_query, else must be NULL) to o
 * [B, H, N, D], lse [B, H, N] f32 and counts [B, Hkv, N] int32 (the number
 * of selected blocks). lse and counts may be NULL when not wanted.
 *
 * `stream` is a CUstream for DASH_TARGET_CUDA (ignored for the CPU). The
 * compiled code launches on a blocking stream of its own, which orders with
 * the legacy default stream; a non-NULL `stream` is synchronised before the
 * launch so that its producers have finished. The call returns after the
 * kernels completed (it is synchronous). */
DASH_C_EXPORT DashStatus dashForward(DashKernel kernel, const void *q,
                                     const void *k, const void *v,
                                     const void *w, void *o, float *lse,
                                     int32_t *counts, void *stream);

/* Backward pass (spec B1-B7) for the upstream gradient dO [B, H, N, D]: dq,
 * dk, dv like q, k, v and dw [Hkv, D] (with with_summary_query, else NULL;
 * summed over the batch). The forward pass is recomputed from q, k, v, w.
 * Same buffer and stream rules as dashForward. */
DASH_C_EXPORT DashStatus dashBackward(DashKernel kernel, const void *q,
                                      const void *k, const void *v,
                                      const void *w, const void *dO, void *dq,
                                      void *dk, void *dv, void *dw,
                                      void *stream);

/* Registers Dash's passes in MLIR's global registry (for C users driving
 * MLIR through its own C API, e.g. mlirParsePassPipeline). */
DASH_C_EXPORT void dashRegisterAllPasses(void);

#ifdef __cplusplus
}
#endif

#endif /* DASH_C_DASH_H */
