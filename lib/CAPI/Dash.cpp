//===- Dash.cpp - C API of the Dash attention compiler --------------------===//
//
// Implements include/dash-c/Dash.h over CpuFunction. Handles are heap objects
// holding shared state, so that kernels outlive their context safely and a
// cached kernel is shared by every handle compiled from the same
// configuration.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include "dash/InitAllDash.h"
#include "dash/Runtime/CudaRuntime.h"

#include "llvm/ADT/bit.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace dash;
using namespace dash::capi;

namespace {
/// Errors of calls that had no context to record them in.
thread_local std::string contextlessError;
/// What dashGetLastError returns: a copy owned by the calling thread, so
/// that another thread's failure cannot free it while it is read.
thread_local std::string returnedError;
} // namespace

DashStatus dash::capi::failWithoutContext(DashStatus status,
                                          std::string message) {
  contextlessError = std::move(message);
  return status;
}

struct DashKernelImpl {
  std::shared_ptr<ContextState> context;
  std::shared_ptr<KernelState> kernel;
  /// Whether dashCompile found the kernel in the context's cache, and how
  /// long that took.
  bool fromMemory;
  double lookupMs;
};

/// Exact bit patterns of the doubles: two configurations that print alike
/// must not share a kernel.
static std::string cacheKey(const DashAttentionConfig &c, DashTarget target) {
  double scale = std::isnan(c.scale) ? 0.0 : c.scale;
  return llvm::formatv("{0} {1} {2} {3} {4} {5} {6:x} {7:x} {8:x} {9} {10} "
                       "{11} {12} {13:x} {14} {15} {16}",
                       c.batch, c.heads, c.kv_heads, c.seq_len, c.head_dim,
                       c.block_size, llvm::bit_cast<uint64_t>(c.alpha),
                       llvm::bit_cast<uint64_t>(c.gamma),
                       llvm::bit_cast<uint64_t>(c.sigma), c.prior, c.dtype,
                       c.local_blocks, c.init_blocks,
                       llvm::bit_cast<uint64_t>(scale),
                       c.with_summary_query != 0, c.router_grad != 0,
                       static_cast<int>(target))
      .str();
}

/// Maps the C configuration to the C++ one; empty on success, else what is
/// wrong. Sizes, attributes and their consistency are left to
/// AttentionConfig::validate, which is the op verifier's judgement.
static std::string convert(const DashAttentionConfig &c,
                           AttentionConfig &config) {
  config.batch = c.batch;
  config.heads = c.heads;
  config.kvHeads = c.kv_heads;
  config.seqLen = c.seq_len;
  config.headDim = c.head_dim;
  config.blockSize = c.block_size;
  config.alpha = c.alpha;
  config.gamma = c.gamma;
  config.sigma = c.sigma;
  switch (c.prior) {
  case DASH_PRIOR_RAW:
    config.prior = Prior::Raw;
    break;
  case DASH_PRIOR_CENTERED:
    config.prior = Prior::Centered;
    break;
  case DASH_PRIOR_FLAT:
    config.prior = Prior::Flat;
    break;
  default:
    return llvm::formatv("prior must be DASH_PRIOR_RAW (0), "
                         "DASH_PRIOR_CENTERED (1) or DASH_PRIOR_FLAT (2), "
                         "got {0}",
                         c.prior)
        .str();
  }
  switch (c.dtype) {
  case DASH_DTYPE_F32:
    config.dtype = ElementType::F32;
    break;
  case DASH_DTYPE_BF16:
    config.dtype = ElementType::BF16;
    break;
  case DASH_DTYPE_F16:
    config.dtype = ElementType::F16;
    break;
  case DASH_DTYPE_F64:
    config.dtype = ElementType::F64;
    break;
  default:
    return llvm::formatv("dtype must be DASH_DTYPE_F32 (0), BF16 (1), F16 (2) "
                         "or F64 (3), got {0}",
                         c.dtype)
        .str();
  }
  config.localBlocks = c.local_blocks;
  config.initBlocks = c.init_blocks;
  if (c.scale == 0.0 || std::isnan(c.scale))
    config.scale.reset();
  else
    config.scale = c.scale;
  config.withSummaryQuery = c.with_summary_query != 0;
  config.routerGrad = c.router_grad != 0;
  return config.validate();
}

std::string dash::capi::compileOptions(DashTarget target,
                                       CompileOptions &options,
                                       DashStatus &status) {
  if (target != DASH_TARGET_CPU && target != DASH_TARGET_CUDA) {
    status = DASH_STATUS_INVALID_ARGUMENT;
    return llvm::formatv("target must be DASH_TARGET_CPU (0) or "
                         "DASH_TARGET_CUDA (1), got {0}",
                         static_cast<int>(target))
        .str();
  }
  if (target == DASH_TARGET_CPU)
    return "";
  if (std::string error = cuda::initialize(); !error.empty()) {
    status = DASH_STATUS_CUDA_UNAVAILABLE;
    return "DASH_TARGET_CUDA: " + error;
  }
  auto [major, minor] = cuda::computeCapability();
  options.target = Target::Cuda;
  options.chip = "sm_" + std::to_string(major) + std::to_string(minor) +
                 (major == 9 ? "a" : "");
  return "";
}

void dash::capi::describe(const Compiled &code, bool fromMemory,
                          double lookupMs, DashKernelInfo &info) {
  info = DashKernelInfo{};
  info.cache_entry = code.info.entry.c_str();
  info.cache_note = code.info.note.c_str();
  if (!code.function) {
    info.source = DASH_KERNEL_SOURCE_NONE;
  } else if (fromMemory) {
    info.source = DASH_KERNEL_SOURCE_MEMORY_CACHE;
    info.total_ms = lookupMs;
  } else {
    info.source = code.info.source == CompileInfo::Source::DiskCache
                      ? DASH_KERNEL_SOURCE_DISK_CACHE
                      : DASH_KERNEL_SOURCE_COMPILED;
    info.compile_ms = code.info.compileMs;
    info.total_ms = code.info.totalMs;
  }
}

DashStatus dash::capi::run(ContextState &state, const CpuFunction &function,
                           llvm::ArrayRef<const void *> inputs,
                           llvm::ArrayRef<void *> outputs, void *stream) {
  if (function.target() == Target::Cuda) {
    if (std::string error = cuda::initialize(); !error.empty())
      return state.fail(DASH_STATUS_CUDA_UNAVAILABLE, error);
    // The compiled code launches on its own stream: wait for the work the
    // caller queued on theirs.
    if (stream)
      if (std::string error = cuda::synchronize(); !error.empty())
        return state.fail(DASH_STATUS_RUNTIME_ERROR, error);
  }
  if (llvm::Error error = function.callInPlace(inputs, outputs))
    return state.fail(DASH_STATUS_RUNTIME_ERROR,
                      llvm::toString(std::move(error)));
  return DASH_STATUS_OK;
}

Scratch::~Scratch() {
  for (void *buffer : deviceBuffers)
    cuda::release(buffer);
}

void *Scratch::allocate(size_t bytes, std::string &error) {
  if (!onDevice)
    return hostBuffers.emplace_back(bytes).data();
  void *device = nullptr;
  error = cuda::allocate(&device, bytes);
  if (!error.empty())
    return nullptr;
  deviceBuffers.push_back(device);
  return device;
}

/// Checks the pointers of one call: `required` must be non-null, the summary
/// query's (`wName`, at `wIndex` of `pointers`) exactly when the kernel takes
/// W. Returns the first problem, empty when none.
static std::string checkPointers(const char *function,
                                 llvm::ArrayRef<const void *> pointers,
                                 llvm::ArrayRef<const char *> names,
                                 const AttentionConfig &config) {
  for (auto [pointer, name] : llvm::zip(pointers, names)) {
    bool isW = llvm::StringRef(name) == "w" || llvm::StringRef(name) == "dw";
    if (isW && !config.withSummaryQuery) {
      if (pointer)
        return llvm::formatv("{0}: {1} must be NULL: the kernel was compiled "
                             "without a summary query "
                             "(with_summary_query = 0)",
                             function, name)
            .str();
      continue;
    }
    if (!pointer)
      return llvm::formatv("{0}: {1} is NULL", function, name).str();
  }
  return "";
}

namespace {
/// One tensor argument of an attention call.
struct Operand {
  const char *name;
  void *data;
  /// Element strides of 4-D tensors, null when contiguous.
  const int64_t *strides;
  TensorSpec spec;
};

/// Calls `function` on the operands: strided ones are checked first, then
/// packed into dense temporaries (inputs) or computed into them and
/// unpacked (outputs); null outputs are computed into scratch buffers.
/// The first problem with the operands' strides, empty when none.
std::string checkOperands(const char *name, llvm::ArrayRef<Operand> inputs,
                          llvm::ArrayRef<Operand> outputs) {
  for (llvm::ArrayRef<Operand> operands : {inputs, outputs})
    for (const Operand &operand : operands)
      if (std::string problem = checkStrides(
              name, operand.name, operand.spec.shape, operand.strides);
          !problem.empty())
        return problem;
  return "";
}

DashStatus callStrided(ContextState &state, const char *name,
                       const CpuFunction &function,
                       llvm::ArrayRef<Operand> inputs,
                       llvm::ArrayRef<Operand> outputs, void *stream) {
  if (std::string problem = checkOperands(name, inputs, outputs);
      !problem.empty())
    return state.fail(DASH_STATUS_INVALID_ARGUMENT, problem);
  bool onDevice = function.target() == Target::Cuda;
  if (onDevice) {
    if (std::string error = cuda::initialize(); !error.empty())
      return state.fail(DASH_STATUS_CUDA_UNAVAILABLE, error);
    // Packing reads the inputs: the caller's producers must have finished.
    if (stream)
      if (std::string error = cuda::synchronize(); !error.empty())
        return state.fail(DASH_STATUS_RUNTIME_ERROR, error);
  }
  Scratch scratch(onDevice);
  std::string error;
  auto dense = [&](const Operand &operand) -> void * {
    if (operand.data && isContiguous(operand.spec.shape, operand.strides))
      return operand.data;
    return scratch.allocate(operand.spec.numBytes(), error);
  };
  std::vector<const void *> ins;
  for (const Operand &operand : inputs) {
    void *buffer = dense(operand);
    if (buffer && buffer != operand.data)
      error =
          copyStrided(scratch, buffer, nullptr, operand.data, operand.strides,
                      operand.spec.shape, elementSize(operand.spec.type));
    if (!error.empty())
      return state.fail(DASH_STATUS_RUNTIME_ERROR, error);
    ins.push_back(buffer);
  }
  std::vector<void *> outs;
  for (const Operand &operand : outputs) {
    outs.push_back(dense(operand));
    if (!error.empty())
      return state.fail(DASH_STATUS_RUNTIME_ERROR, error);
  }
  if (DashStatus status = run(state, function, ins, outs, stream))
    return status;
  for (auto [operand, buffer] : llvm::zip(outputs, outs))
    if (operand.data && buffer != operand.data)
      if (std::string error = copyStrided(
              scratch, operand.data, operand.strides, buffer, nullptr,
              operand.spec.shape, elementSize(operand.spec.type));
          !error.empty())
        return state.fail(DASH_STATUS_RUNTIME_ERROR, error);
  return DASH_STATUS_OK;
}

/// The kernel's backward function, compiled (or loaded) on first use.
llvm::Expected<const CpuFunction *> backwardOf(KernelState &kernel) {
  std::lock_guard<std::mutex> lock(kernel.backwardMutex);
  if (!kernel.backward.function) {
    auto function =
        compileAttentionCached(kernel.config, /*gradient=*/true, kernel.options,
                               kernel.cache, kernel.backward.info);
    if (!function)
      return function.takeError();
    kernel.backward.function = std::move(*function);
  }
  return kernel.backward.function.get();
}
} // namespace

extern "C" {

int32_t dashGetApiVersion(void) { return DASH_C_API_VERSION; }

void dashAttentionConfigInit(DashAttentionConfig *config) {
  if (!config)
    return;
  AttentionConfig defaults;
  *config = DashAttentionConfig{};
  config->batch = defaults.batch;
  config->heads = defaults.heads;
  config->kv_heads = defaults.kvHeads;
  config->seq_len = defaults.seqLen;
  config->head_dim = defaults.headDim;
  config->block_size = defaults.blockSize;
  config->alpha = defaults.alpha;
  config->gamma = defaults.gamma;
  config->sigma = defaults.sigma;
  config->prior = DASH_PRIOR_CENTERED;
  config->dtype = DASH_DTYPE_F32;
  config->local_blocks = defaults.localBlocks;
  config->init_blocks = defaults.initBlocks;
  config->scale = NAN;
  config->with_summary_query = defaults.withSummaryQuery;
  config->router_grad = defaults.routerGrad;
}

DashStatus dashContextCreate(DashContext *context) {
  if (!context)
    return failWithoutContext(DASH_STATUS_INVALID_ARGUMENT,
                              "dashContextCreate: context is NULL");
  *context = new DashContextImpl{std::make_shared<ContextState>()};
  return DASH_STATUS_OK;
}

void dashContextDestroy(DashContext context) { delete context; }

const char *dashGetLastError(DashContext context) {
  if (!context) {
    returnedError = contextlessError;
  } else {
    std::lock_guard<std::mutex> lock(context->state->errorMutex);
    returnedError = context->state->lastError;
  }
  return returnedError.c_str();
}

DashStatus dashContextSetCacheDir(DashContext context, const char *directory) {
  if (!context)
    return failWithoutContext(DASH_STATUS_INVALID_ARGUMENT,
                              "dashContextSetCacheDir: context is NULL");
  std::lock_guard<std::mutex> lock(context->state->cacheMutex);
  context->state->disk = DiskCache(directory ? directory : "");
  return DASH_STATUS_OK;
}

const char *dashContextGetCacheDir(DashContext context) {
  if (!context)
    return "";
  std::lock_guard<std::mutex> lock(context->state->cacheMutex);
  return context->state->disk.directory().c_str();
}

const char *dashGetVersion(void) { return compilerIdentity().c_str(); }

DashStatus dashCompile(DashContext context, const DashAttentionConfig *config,
                       DashTarget target, DashKernel *kernel) {
  auto start = std::chrono::steady_clock::now();
  if (!context)
    return failWithoutContext(DASH_STATUS_INVALID_ARGUMENT,
                              "dashCompile: context is NULL");
  ContextState &state = *context->state;
  if (!config)
    return state.fail(DASH_STATUS_INVALID_ARGUMENT,
                      "dashCompile: config is NULL");
  if (!kernel)
    return state.fail(DASH_STATUS_INVALID_ARGUMENT,
                      "dashCompile: kernel is NULL");
  *kernel = nullptr;
  if (target != DASH_TARGET_CPU && target != DASH_TARGET_CUDA)
    return state.fail(DASH_STATUS_INVALID_ARGUMENT,
                      llvm::formatv("dashCompile: target must be "
                                    "DASH_TARGET_CPU (0) or DASH_TARGET_CUDA "
                                    "(1), got {0}",
                                    static_cast<int>(target))
                          .str());

  std::lock_guard<std::mutex> lock(state.cacheMutex);
  std::string key = cacheKey(*config, target);
  auto cached = state.cache.find(key);
  if (cached != state.cache.end()) {
    double lookupMs = millisSince(start);
    *kernel = new DashKernelImpl{context->state, cached->second,
                                 /*fromMemory=*/true, lookupMs};
    return DASH_STATUS_OK;
  }

  auto compiled = std::make_shared<KernelState>();
  compiled->cConfig = *config;
  compiled->target = target;
  compiled->cache = state.disk;
  if (std::string invalid = convert(*config, compiled->config);
      !invalid.empty())
    return state.fail(DASH_STATUS_INVALID_ARGUMENT,
                      "invalid attention configuration: " + invalid);
  DashStatus status = DASH_STATUS_OK;
  if (std::string error = compileOptions(target, compiled->options, status);
      !error.empty())
    return state.fail(status, error);
  auto forward = compileAttentionCached(compiled->config, /*gradient=*/false,
                                        compiled->options, compiled->cache,
                                        compiled->forward.info);
  if (!forward)
    return state.fail(DASH_STATUS_COMPILE_ERROR,
                      llvm::toString(forward.takeError()));
  compiled->forward.function = std::move(*forward);
  state.cache.emplace(std::move(key), compiled);
  *kernel = new DashKernelImpl{context->state, std::move(compiled),
                               /*fromMemory=*/false, 0.0};
  return DASH_STATUS_OK;
}

void dashKernelRelease(DashKernel kernel) { delete kernel; }

DashStatus dashKernelGetConfig(DashKernel kernel, DashAttentionConfig *config,
                               DashTarget *target) {
  if (!kernel)
    return failWithoutContext(DASH_STATUS_INVALID_ARGUMENT,
                              "dashKernelGetConfig: kernel is NULL");
  if (config)
    *config = kernel->kernel->cConfig;
  if (target)
    *target = kernel->kernel->target;
  return DASH_STATUS_OK;
}

int64_t dashContextCachedKernels(DashContext context) {
  if (!context)
    return 0;
  std::lock_guard<std::mutex> lock(context->state->cacheMutex);
  return static_cast<int64_t>(context->state->cache.size());
}

DashStatus dashKernelCompileBackward(DashKernel kernel) {
  if (!kernel)
    return failWithoutContext(DASH_STATUS_INVALID_ARGUMENT,
                              "dashKernelCompileBackward: kernel is NULL");
  llvm::Expected<const CpuFunction *> backward = backwardOf(*kernel->kernel);
  if (!backward)
    return kernel->context->fail(DASH_STATUS_COMPILE_ERROR,
                                 llvm::toString(backward.takeError()));
  return DASH_STATUS_OK;
}

DashStatus dashKernelGetInfo(DashKernel kernel, int32_t pass,
                             DashKernelInfo *info) {
  if (!kernel)
    return failWithoutContext(DASH_STATUS_INVALID_ARGUMENT,
                              "dashKernelGetInfo: kernel is NULL");
  ContextState &state = *kernel->context;
  if (!info)
    return state.fail(DASH_STATUS_INVALID_ARGUMENT,
                      "dashKernelGetInfo: info is NULL");
  KernelState &compiled = *kernel->kernel;
  if (pass == DASH_PASS_FORWARD) {
    describe(compiled.forward, kernel->fromMemory, kernel->lookupMs, *info);
    return DASH_STATUS_OK;
  }
  if (pass != DASH_PASS_BACKWARD)
    return state.fail(DASH_STATUS_INVALID_ARGUMENT,
                      llvm::formatv("dashKernelGetInfo: pass must be "
                                    "DASH_PASS_FORWARD (0) or "
                                    "DASH_PASS_BACKWARD (1), got {0}",
                                    pass)
                          .str());
  std::lock_guard<std::mutex> lock(compiled.backwardMutex);
  describe(compiled.backward, /*fromMemory=*/false, 0.0, *info);
  return DASH_STATUS_OK;
}

/// dashForwardStrided, reporting errors as `name`'s.
static DashStatus forward(const char *name, DashKernel kernel, const void *q,
                          const int64_t *qStrides, const void *k,
                          const int64_t *kStrides, const void *v,
                          const int64_t *vStrides, const void *w, void *o,
                          const int64_t *oStrides, float *lse, int32_t *counts,
                          void *stream) {
  if (!kernel)
    return failWithoutContext(DASH_STATUS_INVALID_ARGUMENT,
                              std::string(name) + ": kernel is NULL");
  ContextState &state = *kernel->context;
  const KernelState &compiled = *kernel->kernel;
  if (std::string problem = checkPointers(
          name, {q, k, v, w, o}, {"q", "k", "v", "w", "o"}, compiled.config);
      !problem.empty())
    return state.fail(DASH_STATUS_INVALID_ARGUMENT, problem);
  std::vector<TensorSpec> in = attentionInputs(compiled.config);
  std::vector<TensorSpec> out = attentionOutputs(compiled.config);
  std::vector<Operand> inputs = {{"q", const_cast<void *>(q), qStrides, in[0]},
                                 {"k", const_cast<void *>(k), kStrides, in[1]},
                                 {"v", const_cast<void *>(v), vStrides, in[2]}};
  if (compiled.config.withSummaryQuery)
    inputs.push_back({"w", const_cast<void *>(w), nullptr, in[3]});
  // LSE and counts may be NULL: computed into scratch buffers.
  return callStrided(state, name, *compiled.forward.function, inputs,
                     {{"o", o, oStrides, out[0]},
                      {"lse", lse, nullptr, out[1]},
                      {"counts", counts, nullptr, out[2]}},
                     stream);
}

DashStatus dashForwardStrided(DashKernel kernel, const void *q,
                              const int64_t *qStrides, const void *k,
                              const int64_t *kStrides, const void *v,
                              const int64_t *vStrides, const void *w, void *o,
                              const int64_t *oStrides, float *lse,
                              int32_t *counts, void *stream) {
  return forward("dashForwardStrided", kernel, q, qStrides, k, kStrides, v,
                 vStrides, w, o, oStrides, lse, counts, stream);
}

DashStatus dashForward(DashKernel kernel, const void *q, const void *k,
                       const void *v, const void *w, void *o, float *lse,
                       int32_t *counts, void *stream) {
  return forward("dashForward", kernel, q, nullptr, k, nullptr, v, nullptr, w,
                 o, nullptr, lse, counts, stream);
}

/// dashBackwardStrided, reporting errors as `name`'s.
static DashStatus backward(const char *name, DashKernel kernel, const void *q,
                           const int64_t *qStrides, const void *k,
                           const int64_t *kStrides, const void *v,
                           const int64_t *vStrides, const void *w,
                           const void *dO, const int64_t *dOStrides, void *dq,
                           const int64_t *dqStrides, void *dk,
                           const int64_t *dkStrides, void *dv,
                           const int64_t *dvStrides, void *dw, void *stream) {
  if (!kernel)
    return failWithoutContext(DASH_STATUS_INVALID_ARGUMENT,
                              std::string(name) + ": kernel is NULL");
  ContextState &state = *kernel->context;
  KernelState &compiled = *kernel->kernel;
  if (std::string problem = checkPointers(
          name, {q, k, v, w, dO, dq, dk, dv, dw},
          {"q", "k", "v", "w", "dO", "dq", "dk", "dv", "dw"}, compiled.config);
      !problem.empty())
    return state.fail(DASH_STATUS_INVALID_ARGUMENT, problem);
  std::vector<TensorSpec> in = attentionGradInputs(compiled.config);
  std::vector<Operand> inputs = {{"q", const_cast<void *>(q), qStrides, in[0]},
                                 {"k", const_cast<void *>(k), kStrides, in[1]},
                                 {"v", const_cast<void *>(v), vStrides, in[2]}};
  std::vector<Operand> outputs = {{"dq", dq, dqStrides, in[0]},
                                  {"dk", dk, dkStrides, in[1]},
                                  {"dv", dv, dvStrides, in[2]}};
  if (compiled.config.withSummaryQuery) {
    inputs.push_back({"w", const_cast<void *>(w), nullptr, in[3]});
    outputs.push_back({"dw", dw, nullptr, in[3]});
  }
  inputs.push_back({"dO", const_cast<void *>(dO), dOStrides, in.back()});
  // Before compiling the backward function, which may take seconds.
  if (std::string problem = checkOperands(name, inputs, outputs);
      !problem.empty())
    return state.fail(DASH_STATUS_INVALID_ARGUMENT, problem);
  if (compiled.target == DASH_TARGET_CUDA)
    if (std::string error = cuda::initialize(); !error.empty())
      return state.fail(DASH_STATUS_CUDA_UNAVAILABLE, error);
  llvm::Expected<const CpuFunction *> backward = backwardOf(compiled);
  if (!backward)
    return state.fail(DASH_STATUS_COMPILE_ERROR,
                      llvm::toString(backward.takeError()));
  return callStrided(state, name, **backward, inputs, outputs, stream);
}

DashStatus dashBackwardStrided(
    DashKernel kernel, const void *q, const int64_t *qStrides, const void *k,
    const int64_t *kStrides, const void *v, const int64_t *vStrides,
    const void *w, const void *dO, const int64_t *dOStrides, void *dq,
    const int64_t *dqStrides, void *dk, const int64_t *dkStrides, void *dv,
    const int64_t *dvStrides, void *dw, void *stream) {
  return backward("dashBackwardStrided", kernel, q, qStrides, k, kStrides, v,
                  vStrides, w, dO, dOStrides, dq, dqStrides, dk, dkStrides, dv,
                  dvStrides, dw, stream);
}

DashStatus dashBackward(DashKernel kernel, const void *q, const void *k,
                        const void *v, const void *w, const void *dO, void *dq,
                        void *dk, void *dv, void *dw, void *stream) {
  return backward("dashBackward", kernel, q, nullptr, k, nullptr, v, nullptr, w,
                  dO, nullptr, dq, nullptr, dk, nullptr, dv, nullptr, dw,
                  stream);
}

void dashRegisterAllPasses(void) { mlir::dash::registerAllDashPasses(); }

} // extern "C"
