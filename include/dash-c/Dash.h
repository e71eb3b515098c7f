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
|* Buffers are dense, contiguous and row-major in the documented shapes;     *|
|* dashForwardStrided and dashBackwardStrided also take 4-D tensors with     *|
|* element strides. For DASH_TARGET_CPU they are host pointers; for          *|
|* DASH_TARGET_CUDA they are device pointers of the current device's primary *|
|* context.                                                                   *|
|*                                                                            *|
|* Besides attention configurations, dashFunctionCompile compiles any MLIR    *|
|* module with dash ops (e.g. single stage ops) and calls a function of it.   *|
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
#define DASH_C_API_VERSION 2

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
 * 16-bit patterns. LSE is always f32 and counts int32. I32 and I1 (one byte
 * per element) appear only in the signatures of dashFunctionCompile's
 * functions (counts, masks). */
typedef enum DashDType {
  DASH_DTYPE_F32 = 0,
  DASH_DTYPE_BF16 = 1,
  DASH_DTYPE_F16 = 2,
  DASH_DTYPE_F64 = 3,
  DASH_DTYPE_I32 = 4,
  DASH_DTYPE_I1 = 5,
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
typedef struct DashFunctionImpl *DashFunction;

/* Where the code behind a handle came from. */
typedef enum DashKernelSource {
  /* Not compiled yet (a backward pass before its first use). */
  DASH_KERNEL_SOURCE_NONE = 0,
  /* Compiled by this request. */
  DASH_KERNEL_SOURCE_COMPILED = 1,
  /* The context's in-memory cache: compiled earlier in this process. */
  DASH_KERNEL_SOURCE_MEMORY_CACHE = 2,
  /* The disk cache: compiled earlier, possibly by another process. */
  DASH_KERNEL_SOURCE_DISK_CACHE = 3,
} DashKernelSource;

typedef enum DashPass {
  DASH_PASS_FORWARD = 0,
  DASH_PASS_BACKWARD = 1,
} DashPass;

/* How long getting the code took and where it came from. */
typedef struct DashKernelInfo {
  int32_t source; /* DashKernelSource */
  /* Milliseconds spent compiling (lowering, code generation, linking); 0
   * when the code came from a cache. */
  double compile_ms;
  /* Milliseconds from the request to callable code: the compile, storing
   * and loading, or the cache lookup (and, from disk, the checks and the
   * load). For the memory cache, the lookup alone. */
  double total_ms;
  /* The disk cache entry (a directory: kernel.so, manifest.txt and
   * cache.txt; dash-aot-run runs it) the code was loaded from or stored in,
   * "" when it is not on disk. */
  const char *cache_entry;
  /* Why the disk cache was not used ("the disk cache is disabled", "not
   * stored on disk: ..."), or what was wrong with a stale entry that was
   * recompiled and replaced; "" otherwise. Both strings live as long as
   * the handle. */
  const char *cache_note;
} DashKernelInfo;

/* DASH_C_API_VERSION of the library. */
DASH_C_EXPORT int32_t dashGetApiVersion(void);

/* The spec's defaults: B = H = Hkv = 1, N = D = block_size = 64, alpha 1.5,
 * gamma 1, sigma 1, centered prior, f32, default scale, no W, full router
 * gradient. A NULL config is ignored. */
DASH_C_EXPORT void dashAttentionConfigInit(DashAttentionConfig *config);

/* "dash <version> commit <git commit> llvm <version>": the compiler build,
 * which is part of every disk cache key. */
DASH_C_EXPORT const char *dashGetVersion(void);

/* A context owns the cache of compiled kernels and the last error. It may be
 * used from several threads; compilations within one context are
 * serialised. Destroying it while kernels are alive is allowed: they keep
 * what they need until released. */
DASH_C_EXPORT DashStatus dashContextCreate(DashContext *context);
DASH_C_EXPORT void dashContextDestroy(DashContext context);

/* The directory of the disk kernel cache, shared by processes: a context
 * starts with $DASH_CACHE_DIR if set (set but empty disables the cache),
 * else $XDG_CACHE_HOME/dash, else $HOME/.cache/dash. NULL or "" disables
 * the disk cache of this context; kernels compiled later are then kept in
 * memory only. Entries are keyed by the configuration (every field), the
 * pass, the target (host CPU and features, or CUDA chip), and the compiler
 * build (dashGetVersion); a partial or corrupted entry is recompiled.
 * Storing needs a C++ compiler driver (c++) on PATH to link kernel.so;
 * without one, kernels are compiled in memory and cache_note says so. */
DASH_C_EXPORT DashStatus dashContextSetCacheDir(DashContext context,
                                                const char *directory);
/* The current directory, "" when disabled. Valid until the next
 * dashContextSetCacheDir on the context. */
DASH_C_EXPORT const char *dashContextGetCacheDir(DashContext context);

/* The message of the latest failure on `context` (any thread), or, for a
 * NULL context, of the latest failure of this thread that had no context.
 * Empty when there was none. Valid until the next call from this thread. */
DASH_C_EXPORT const char *dashGetLastError(DashContext context);

/* Compiles the forward pass of `config` for `target` (the backward pass is
 * compiled on the first dashBackward, or by dashKernelCompileBackward).
 * Kernels are cached in the context by configuration and target: compiling
 * the same configuration again returns a new handle to the same code at no
 * cost. They are also cached on disk (dashContextSetCacheDir), so another
 * context or process loads them instead of compiling.
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

/* Compiles (or loads from the disk cache) the backward pass now rather than
 * on the first dashBackward. */
DASH_C_EXPORT DashStatus dashKernelCompileBackward(DashKernel kernel);

/* How the code of `pass` (DashPass) was obtained: for the forward pass, by
 * the dashCompile that returned this handle; for the backward pass, by
 * whichever call compiled it (source NONE before that). */
DASH_C_EXPORT DashStatus dashKernelGetInfo(DashKernel kernel, int32_t pass,
                                           DashKernelInfo *info);

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

/* dashForward and dashBackward on 4-D tensors with element strides: each
 * `*_strides` points at 4 non-negative int64 strides of its tensor (q, k,
 * v, o, dO, dq, dk, dv; W, dW, LSE and counts stay contiguous), NULL meaning
 * contiguous. Strides whose elements would overlap (or a negative stride)
 * give DASH_STATUS_INVALID_ARGUMENT naming the tensor. Contiguous tensors
 * are used in place; others are packed into contiguous temporaries (host
 * loops for the CPU, 2-D driver copies for CUDA, one per [N, D] slab when
 * the D stride is 1 and one per row otherwise) and outputs unpacked. */
DASH_C_EXPORT DashStatus dashForwardStrided(
    DashKernel kernel, const void *q, const int64_t *q_strides, const void *k,
    const int64_t *k_strides, const void *v, const int64_t *v_strides,
    const void *w, void *o, const int64_t *o_strides, float *lse,
    int32_t *counts, void *stream);
DASH_C_EXPORT DashStatus dashBackwardStrided(
    DashKernel kernel, const void *q, const int64_t *q_strides, const void *k,
    const int64_t *k_strides, const void *v, const int64_t *v_strides,
    const void *w, const void *dO, const int64_t *dO_strides, void *dq,
    const int64_t *dq_strides, void *dk, const int64_t *dk_strides, void *dv,
    const int64_t *dv_strides, void *dw, void *stream);

/*===----------------------------------------------------------------------===*
 * Functions of MLIR modules
 *===----------------------------------------------------------------------===*/

#define DASH_MAX_RANK 8

/* One argument of a compiled function: a dense row-major tensor. */
typedef struct DashTensorArg {
  void *data;
  int32_t dtype; /* DashDType */
  int32_t rank;  /* 0 to DASH_MAX_RANK */
  int64_t shape[DASH_MAX_RANK];
} DashTensorArg;

/* Compiles function `entry` of the MLIR module in `source` (`length` bytes;
 * dash, func, arith, tensor, linalg ... ops on tensors of static shape, as
 * dash-opt's pipelines accept; functions marked dash.differentiate get
 * their @<name>_grad, which `entry` may name) for `target`. Its results
 * become trailing output arguments: a function of n arguments and m results
 * is called with n + m DashTensorArg, inputs first. Compiled functions are
 * cached in memory and on disk like kernels, keyed by the source text,
 * entry and target. Parse, verification and lowering errors give
 * DASH_STATUS_COMPILE_ERROR with the located diagnostics. */
DASH_C_EXPORT DashStatus dashFunctionCompile(DashContext context,
                                             const char *source, size_t length,
                                             const char *entry,
                                             DashTarget target,
                                             DashFunction *function);
DASH_C_EXPORT void dashFunctionRelease(DashFunction function);

/* The number of inputs (the function's arguments) and outputs (its
 * results). */
DASH_C_EXPORT DashStatus dashFunctionGetSignature(DashFunction function,
                                                  int32_t *num_inputs,
                                                  int32_t *num_outputs);
/* The dtype, rank and shape of argument `index` (inputs first, then
 * outputs); data is set to NULL. */
DASH_C_EXPORT DashStatus dashFunctionGetArgument(DashFunction function,
                                                 int32_t index,
                                                 DashTensorArg *argument);
/* How the function's code was obtained (see dashKernelGetInfo). */
DASH_C_EXPORT DashStatus dashFunctionGetInfo(DashFunction function,
                                             DashKernelInfo *info);

/* Calls the function: `args` holds num_inputs + num_outputs tensors, each
 * checked against the signature (count, dtype, rank, shape; data not NULL)
 * before anything runs. Host pointers for the CPU, device pointers for
 * CUDA, with dashForward's stream rules. */
DASH_C_EXPORT DashStatus dashFunctionCall(DashFunction function,
                                          int32_t num_args,
                                          const DashTensorArg *args,
                                          void *stream);

/* Registers Dash's passes in MLIR's global registry (for C users driving
 * MLIR through its own C API, e.g. mlirParsePassPipeline). */
DASH_C_EXPORT void dashRegisterAllPasses(void);

#ifdef __cplusplus
}
#endif

#endif /* DASH_C_DASH_H */
