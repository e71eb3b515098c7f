//===- Dash.cpp - C API of the Dash attention compiler --------------------===//
//
// Implements include/dash-c/Dash.h over CpuFunction. Handles are heap objects
// holding shared state, so that kernels outlive their context safely and a
// cached kernel is shared by every handle compiled from the same
// configuration.
//
//===----------------------------------------------------------------------===//

#include "dash-c/Dash.h"

#include "dash/InitAllDash.h"
#include "dash/JIT/CpuFunction.h"
#include "dash/Runtime/CudaRuntime.h"

#include "llvm/ADT/bit.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

using namespace dash;

namespace {

/// One compiled configuration: the forward function, and the backward
/// function once a caller needed it.
struct KernelState {
  AttentionConfig config;
  DashAttentionConfig cConfig;
  DashTarget target;
  CompileOptions options;
  std::unique_ptr<CpuFunction> forward;
  std::mutex backwardMutex;
  std::unique_ptr<CpuFunction> backward;
};

struct ContextState {
  std::mutex errorMutex;
  std::string lastError;
  /// Held while compiling: concurrent compilations of one configuration
  /// must not both miss the cache.
  std::mutex cacheMutex;
  std::map<std::string, std::shared_ptr<KernelState>> cache;

  DashStatus fail(DashStatus status, std::string message) {
    std::lock_guard<std::mutex> lock(errorMutex);
    lastError = std::move(message);
    return status;
  }
};

/// Errors of calls that had no context to record them in.
thread_local std::string contextlessError;
/// What dashGetLastError returns: a copy owned by the calling thread, so
/// that another thread's failure cannot free it while it is read.
thread_local std::string returnedError;

DashStatus failWithoutContext(DashStatus status, std::string message) {
  contextlessError = std::move(message);
  return status;
}

} // namespace

struct DashContextImpl {
  std::shared_ptr<ContextState> state;
};

struct DashKernelImpl {
  std::shared_ptr<ContextState> context;
  std::shared_ptr<KernelState> kernel;
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

DashStatus dashCompile(DashContext context, const DashAttentionConfig *config,
                       DashTarget target, DashKernel *kernel) {
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
    *kernel = new DashKernelImpl{context->state, cached->second};
    return DASH_STATUS_OK;
  }

  auto compiled = std::make_shared<KernelState>();
  compiled->cConfig = *config;
  compiled->target = target;
  if (std::string invalid = convert(*config, compiled->config);
      !invalid.empty())
    return state.fail(DASH_STATUS_INVALID_ARGUMENT,
                      "invalid attention configuration: " + invalid);
  if (target == DASH_TARGET_CUDA) {
    // The chip is the device's, as dash-run picks it.
    if (std::string error = cuda::initialize(); !error.empty())
      return state.fail(DASH_STATUS_CUDA_UNAVAILABLE,
                        "DASH_TARGET_CUDA: " + error);
    auto [major, minor] = cuda::computeCapability();
    compiled->options.target = Target::Cuda;
    compiled->options.chip = "sm_" + std::to_string(major) +
                             std::to_string(minor) + (major == 9 ? "a" : "");
  }
  auto forward =
      CpuFunction::compileAttention(compiled->config, compiled->options);
  if (!forward)
    return state.fail(DASH_STATUS_COMPILE_ERROR,
                      llvm::toString(forward.takeError()));
  compiled->forward = std::move(*forward);
  state.cache.emplace(std::move(key), compiled);
  *kernel = new DashKernelImpl{context->state, std::move(compiled)};
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

/// Buffers the caller did not want (lse, counts): host memory for the CPU,
/// device memory for CUDA, freed when the call returns.
namespace {
class Scratch {
public:
  explicit Scratch(bool onDevice) : onDevice(onDevice) {}
  ~Scratch() {
    for (void *buffer : deviceBuffers)
      cuda::release(buffer);
  }
  /// `buffer` itself when given, else fresh memory of `bytes`; null with
  /// `error` set when the device is out of memory.
  void *orAllocate(void *buffer, size_t bytes, std::string &error) {
    if (buffer)
      return buffer;
    if (!onDevice)
      return hostBuffers.emplace_back(bytes).data();
    void *device = nullptr;
    error = cuda::allocate(&device, bytes);
    if (!error.empty())
      return nullptr;
    deviceBuffers.push_back(device);
    return device;
  }

private:
  bool onDevice;
  std::vector<std::vector<char>> hostBuffers;
  std::vector<void *> deviceBuffers;
};
} // namespace

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

/// Runs `function` where it was compiled for, mapping failures to statuses.
static DashStatus run(ContextState &state, const KernelState &kernel,
                      const CpuFunction &function,
                      llvm::ArrayRef<const void *> inputs,
                      llvm::ArrayRef<void *> outputs, void *stream) {
  if (kernel.target == DASH_TARGET_CUDA && stream) {
    // The compiled code launches on its own stream: wait for the work the
    // caller queued on theirs.
    if (std::string error = cuda::synchronize(); !error.empty())
      return state.fail(DASH_STATUS_RUNTIME_ERROR, error);
  }
  if (llvm::Error error = function.callInPlace(inputs, outputs))
    return state.fail(DASH_STATUS_RUNTIME_ERROR,
                      llvm::toString(std::move(error)));
  return DASH_STATUS_OK;
}

DashStatus dashForward(DashKernel kernel, const void *q, const void *k,
                       const void *v, const void *w, void *o, float *lse,
                       int32_t *counts, void *stream) {
  if (!kernel)
    return failWithoutContext(DASH_STATUS_INVALID_ARGUMENT,
                              "dashForward: kernel is NULL");
  ContextState &state = *kernel->context;
  const KernelState &compiled = *kernel->kernel;
  if (std::string problem =
          checkPointers("dashForward", {q, k, v, w, o},
                        {"q", "k", "v", "w", "o"}, compiled.config);
      !problem.empty())
    return state.fail(DASH_STATUS_INVALID_ARGUMENT, problem);

  bool onDevice = compiled.target == DASH_TARGET_CUDA;
  if (onDevice)
    if (std::string error = cuda::initialize(); !error.empty())
      return state.fail(DASH_STATUS_CUDA_UNAVAILABLE, error);
  std::vector<TensorSpec> outputSpecs = attentionOutputs(compiled.config);
  Scratch scratch(onDevice);
  std::string error;
  void *lseBuffer = scratch.orAllocate(lse, outputSpecs[1].numBytes(), error);
  void *countsBuffer =
      lseBuffer ? scratch.orAllocate(counts, outputSpecs[2].numBytes(), error)
                : nullptr;
  if (!countsBuffer)
    return state.fail(DASH_STATUS_RUNTIME_ERROR, error);

  std::vector<const void *> inputs = {q, k, v};
  if (compiled.config.withSummaryQuery)
    inputs.push_back(w);
  return run(state, compiled, *compiled.forward, inputs,
             {o, lseBuffer, countsBuffer}, stream);
}

DashStatus dashBackward(DashKernel kernel, const void *q, const void *k,
                        const void *v, const void *w, const void *dO, void *dq,
                        void *dk, void *dv, void *dw, void *stream) {
  if (!kernel)
    return failWithoutContext(DASH_STATUS_INVALID_ARGUMENT,
                              "dashBackward: kernel is NULL");
  ContextState &state = *kernel->context;
  KernelState &compiled = *kernel->kernel;
  if (std::string problem = checkPointers(
          "dashBackward", {q, k, v, w, dO, dq, dk, dv, dw},
          {"q", "k", "v", "w", "dO", "dq", "dk", "dv", "dw"}, compiled.config);
      !problem.empty())
    return state.fail(DASH_STATUS_INVALID_ARGUMENT, problem);
  if (compiled.target == DASH_TARGET_CUDA)
    if (std::string error = cuda::initialize(); !error.empty())
      return state.fail(DASH_STATUS_CUDA_UNAVAILABLE, error);

  const CpuFunction *backward;
  {
    std::lock_guard<std::mutex> lock(compiled.backwardMutex);
    if (!compiled.backward) {
      auto function =
          CpuFunction::compileAttentionGrad(compiled.config, compiled.options);
      if (!function)
        return state.fail(DASH_STATUS_COMPILE_ERROR,
                          llvm::toString(function.takeError()));
      compiled.backward = std::move(*function);
    }
    backward = compiled.backward.get();
  }

  std::vector<const void *> inputs = {q, k, v};
  std::vector<void *> outputs = {dq, dk, dv};
  if (compiled.config.withSummaryQuery) {
    inputs.push_back(w);
    outputs.push_back(dw);
  }
  inputs.push_back(dO);
  return run(state, compiled, *backward, inputs, outputs, stream);
}

void dashRegisterAllPasses(void) { mlir::dash::registerAllDashPasses(); }

} // extern "C"
