//===- Function.cpp - Functions of MLIR modules in the C API --------------===//
//
// dashFunctionCompile and dashFunctionCall: any function the pipelines
// accept (single stage ops, for instance), called on raw buffers.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include "llvm/Support/FormatVariadic.h"

using namespace dash;
using namespace dash::capi;

struct DashFunctionImpl {
  std::shared_ptr<ContextState> context;
  std::shared_ptr<FunctionState> function;
  bool fromMemory;
  double lookupMs;
};

static int32_t toDType(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return DASH_DTYPE_F32;
  case ElementType::BF16:
    return DASH_DTYPE_BF16;
  case ElementType::F16:
    return DASH_DTYPE_F16;
  case ElementType::F64:
    return DASH_DTYPE_F64;
  case ElementType::I32:
    return DASH_DTYPE_I32;
  case ElementType::I1:
    return DASH_DTYPE_I1;
  }
  llvm_unreachable("unknown element type");
}

static std::string dtypeName(int32_t dtype) {
  static const char *names[] = {"f32", "bf16", "f16", "f64", "i32", "i1"};
  if (dtype >= 0 && dtype < static_cast<int32_t>(std::size(names)))
    return names[dtype];
  return "dtype " + std::to_string(dtype);
}

static std::string describeTensor(int32_t dtype,
                                  llvm::ArrayRef<int64_t> shape) {
  return llvm::formatv("{0} [{1:$[, ]}]", dtypeName(dtype),
                       llvm::make_range(shape.begin(), shape.end()))
      .str();
}

/// The spec of argument `index`: inputs first, then outputs.
static const TensorSpec &specOf(const CpuFunction &function, size_t index) {
  size_t inputs = function.inputs().size();
  return index < inputs ? function.inputs()[index]
                        : function.outputs()[index - inputs];
}

extern "C" {

DashStatus dashFunctionCompile(DashContext context, const char *source,
                               size_t length, const char *entry,
                               DashTarget target, DashFunction *function) {
  auto start = std::chrono::steady_clock::now();
  const char *name = "dashFunctionCompile";
  if (!context)
    return failWithoutContext(DASH_STATUS_INVALID_ARGUMENT,
                              std::string(name) + ": context is NULL");
  ContextState &state = *context->state;
  for (auto [pointer, what] :
       {std::pair<const void *, const char *>{source, "source"},
        {entry, "entry"},
        {function, "function"}})
    if (!pointer)
      return state.fail(DASH_STATUS_INVALID_ARGUMENT,
                        llvm::formatv("{0}: {1} is NULL", name, what).str());
  *function = nullptr;
  CompileOptions options;
  DashStatus status = DASH_STATUS_OK;
  if (std::string error = compileOptions(target, options, status);
      !error.empty())
    return state.fail(status, std::string(name) + ": " + error);

  llvm::StringRef text(source, length);
  std::lock_guard<std::mutex> lock(state.cacheMutex);
  std::string key = std::to_string(static_cast<int>(target)) + '\0' + entry +
                    '\0' + text.str();
  auto cached = state.functions.find(key);
  if (cached != state.functions.end()) {
    double lookupMs = millisSince(start);
    *function = new DashFunctionImpl{context->state, cached->second,
                                     /*fromMemory=*/true, lookupMs};
    return DASH_STATUS_OK;
  }
  auto compiled = std::make_shared<FunctionState>();
  compiled->target = target;
  auto code = compileSourceCached(text, entry, options, state.disk,
                                  compiled->code.info);
  if (!code)
    return state.fail(DASH_STATUS_COMPILE_ERROR,
                      llvm::toString(code.takeError()));
  compiled->code.function = std::move(*code);
  state.functions.emplace(std::move(key), compiled);
  *function = new DashFunctionImpl{context->state, std::move(compiled),
                                   /*fromMemory=*/false, 0.0};
  return DASH_STATUS_OK;
}

void dashFunctionRelease(DashFunction function) { delete function; }

DashStatus dashFunctionGetSignature(DashFunction function, int32_t *numInputs,
                                    int32_t *numOutputs) {
  if (!function)
    return failWithoutContext(DASH_STATUS_INVALID_ARGUMENT,
                              "dashFunctionGetSignature: function is NULL");
  const CpuFunction &code = *function->function->code.function;
  if (numInputs)
    *numInputs = static_cast<int32_t>(code.inputs().size());
  if (numOutputs)
    *numOutputs = static_cast<int32_t>(code.outputs().size());
  return DASH_STATUS_OK;
}

DashStatus dashFunctionGetArgument(DashFunction function, int32_t index,
                                   DashTensorArg *argument) {
  if (!function)
    return failWithoutContext(DASH_STATUS_INVALID_ARGUMENT,
                              "dashFunctionGetArgument: function is NULL");
  ContextState &state = *function->context;
  const CpuFunction &code = *function->function->code.function;
  size_t count = code.inputs().size() + code.outputs().size();
  if (!argument)
    return state.fail(DASH_STATUS_INVALID_ARGUMENT,
                      "dashFunctionGetArgument: argument is NULL");
  if (index < 0 || static_cast<size_t>(index) >= count)
    return state.fail(DASH_STATUS_INVALID_ARGUMENT,
                      llvm::formatv("dashFunctionGetArgument: index {0} is "
                                    "out of range: the function has {1} "
                                    "arguments (inputs and outputs)",
                                    index, count)
                          .str());
  const TensorSpec &spec = specOf(code, index);
  if (spec.shape.size() > DASH_MAX_RANK)
    return state.fail(DASH_STATUS_INVALID_ARGUMENT,
                      llvm::formatv("dashFunctionGetArgument: argument {0} "
                                    "has rank {1}, above DASH_MAX_RANK ({2})",
                                    index, spec.shape.size(), DASH_MAX_RANK)
                          .str());
  *argument = DashTensorArg{};
  argument->dtype = toDType(spec.type);
  argument->rank = static_cast<int32_t>(spec.shape.size());
  llvm::copy(spec.shape, argument->shape);
  return DASH_STATUS_OK;
}

DashStatus dashFunctionGetInfo(DashFunction function, DashKernelInfo *info) {
  if (!function)
    return failWithoutContext(DASH_STATUS_INVALID_ARGUMENT,
                              "dashFunctionGetInfo: function is NULL");
  if (!info)
    return function->context->fail(DASH_STATUS_INVALID_ARGUMENT,
                                   "dashFunctionGetInfo: info is NULL");
  describe(function->function->code, function->fromMemory, function->lookupMs,
           *info);
  return DASH_STATUS_OK;
}

DashStatus dashFunctionCall(DashFunction function, int32_t numArgs,
                            const DashTensorArg *args, void *stream) {
  if (!function)
    return failWithoutContext(DASH_STATUS_INVALID_ARGUMENT,
                              "dashFunctionCall: function is NULL");
  ContextState &state = *function->context;
  const CpuFunction &code = *function->function->code.function;
  size_t inputs = code.inputs().size(), outputs = code.outputs().size();
  if (numArgs < 0 || static_cast<size_t>(numArgs) != inputs + outputs)
    return state.fail(
        DASH_STATUS_INVALID_ARGUMENT,
        llvm::formatv("dashFunctionCall: the function takes {0} arguments "
                      "({1} inputs, then {2} outputs for its results), got {3}",
                      inputs + outputs, inputs, outputs, numArgs)
            .str());
  if (numArgs > 0 && !args)
    return state.fail(DASH_STATUS_INVALID_ARGUMENT,
                      "dashFunctionCall: args is NULL");
  std::vector<const void *> ins;
  std::vector<void *> outs;
  for (size_t i = 0; i < inputs + outputs; ++i) {
    const TensorSpec &spec = specOf(code, i);
    const DashTensorArg &arg = args[i];
    std::string which = i < inputs
                            ? llvm::formatv("input {0}", i).str()
                            : llvm::formatv("output {0}", i - inputs).str();
    int32_t dtype = toDType(spec.type);
    bool rankFits = arg.rank >= 0 && arg.rank <= DASH_MAX_RANK;
    llvm::ArrayRef<int64_t> shape(arg.shape, rankFits ? arg.rank : 0);
    if (!rankFits || arg.dtype != dtype || shape != llvm::ArrayRef(spec.shape))
      return state.fail(
          DASH_STATUS_INVALID_ARGUMENT,
          llvm::formatv("dashFunctionCall: argument {0} ({1}) must be {2}, "
                        "got {3}",
                        i, which, describeTensor(dtype, spec.shape),
                        rankFits ? describeTensor(arg.dtype, shape)
                                 : llvm::formatv("rank {0}", arg.rank).str())
              .str());
    if (!arg.data)
      return state.fail(
          DASH_STATUS_INVALID_ARGUMENT,
          llvm::formatv("dashFunctionCall: argument {0} ({1}) has NULL data", i,
                        which)
              .str());
    if (i < inputs)
      ins.push_back(arg.data);
    else
      outs.push_back(arg.data);
  }
  return run(state, code, ins, outs, stream);
}

} // extern "C"
