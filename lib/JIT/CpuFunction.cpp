//===- CpuFunction.cpp - Functions compiled for the host CPU -------------===//

#include "dash/JIT/CpuFunction.h"
#include "Lowering.h"
#include "dash/Dialect/Dash/Transforms/Passes.h"
#include "dash/InitAllDash.h"
#include "dash/Pipelines/Pipelines.h"
#include "dash/Runtime/Artifact.h"
#include "dash/Runtime/CudaRuntime.h"
#include "dash/Runtime/MemRef.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/TargetSelect.h"

#include <chrono>
#include <functional>

using namespace mlir;

namespace dash {

namespace {
llvm::Expected<TensorSpec> specOf(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return llvm::createStringError(
        llvm::formatv("arguments and results must be tensors of static "
                      "shape, got {0}",
                      type)
            .str());
  TensorSpec spec;
  spec.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  Type e = tensor.getElementType();
  if (e.isF32())
    spec.type = ElementType::F32;
  else if (e.isF64())
    spec.type = ElementType::F64;
  else if (e.isBF16())
    spec.type = ElementType::BF16;
  else if (e.isF16())
    spec.type = ElementType::F16;
  else if (e.isSignlessInteger(32))
    spec.type = ElementType::I32;
  else if (e.isSignlessInteger(1))
    spec.type = ElementType::I1;
  else
    return llvm::createStringError(
        llvm::formatv("unsupported element type {0}", e).str());
  return spec;
}

} // namespace

std::unique_ptr<MLIRContext> createCompilerContext() {
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  mlir::dash::registerAllDashDialects(registry);
  return std::make_unique<MLIRContext>(registry);
}

CpuFunction::~CpuFunction() = default;

llvm::Expected<LoweredSignature> lowerToLLVM(ModuleOp module, StringRef entry,
                                             const CompileOptions &options) {
  if (!module)
    return llvm::createStringError("cannot compile a null module");
  MLIRContext *context = module.getContext();
  DiagnosticCollector diagnostics(context);

  // A module built in C++ has not been verified by a parser, and passes
  // assume valid IR (MLIR's own assertions are off in release builds).
  if (failed(verify(module)))
    return diagnostics.error("the module does not verify");
  // Gradient functions are generated first so that `entry` may name one.
  PassManager differentiate(context);
  differentiate.addPass(mlir::dash::createDashDifferentiate());
  if (failed(differentiate.run(module)))
    return diagnostics.error("dash-differentiate failed");
  auto func = module.lookupSymbol<func::FuncOp>(entry);
  if (!func)
    return llvm::createStringError(
        ("no function named '" + entry + "' in the module").str());
  if (func.isExternal())
    return llvm::createStringError(
        ("function '" + entry + "' has no body").str());
  // Every function gets a C wrapper, and the JIT links nothing in: a
  // declaration would only fail later as an unresolved _mlir_ciface_ symbol.
  for (auto declared : module.getOps<func::FuncOp>())
    if (declared.isExternal())
      return llvm::createStringError(
          ("function '" + declared.getName() +
           "' is declared without a body; compiled code cannot call "
           "functions outside its module")
              .str());
  LoweredSignature signature;
  for (Type type : func.getArgumentTypes()) {
    auto spec = specOf(type);
    if (!spec)
      return spec.takeError();
    signature.inputs.push_back(*spec);
  }
  for (Type type : func.getResultTypes()) {
    auto spec = specOf(type);
    if (!spec)
      return spec.takeError();
    signature.outputs.push_back(*spec);
  }

  PassManager pm(context);
  const char *pipelineName;
  if (options.target == Target::Cpu) {
    mlir::dash::CPUPipelineOptions pipeline;
    pipeline.differentiate = false;
    mlir::dash::buildCPUPipeline(pm, pipeline);
    pipelineName = "dash-cpu-pipeline";
  } else {
    mlir::dash::NVVMPipelineOptions pipeline;
    pipeline.differentiate = false;
    pipeline.chip = options.chip;
    pipeline.features = options.features;
    mlir::dash::buildNVVMPipeline(pm, pipeline);
    pipelineName = "dash-nvvm-pipeline";
  }
  pm.addInstrumentation(countTemporaries(signature.temporaries));
  if (failed(pm.run(module)))
    return diagnostics.error(llvm::Twine(pipelineName) + " failed");
  if (llvm::Error error =
          checkTemporaries(signature.temporaries, options.target))
    return std::move(error);
  return signature;
}

llvm::Expected<std::unique_ptr<CpuFunction>>
CpuFunction::compile(ModuleOp module, StringRef entry,
                     const CompileOptions &options) {
  auto start = std::chrono::steady_clock::now();
  llvm::Expected<LoweredSignature> signature =
      lowerToLLVM(module, entry, options);
  if (!signature)
    return signature.takeError();
  DiagnosticCollector diagnostics(module.getContext());
  std::unique_ptr<CpuFunction> result(new CpuFunction());
  result->entryName = entry.str();
  result->compiledFor = options.target;
  result->inputSpecs = std::move(signature->inputs);
  result->outputSpecs = std::move(signature->outputs);
  result->temporaryBufferBytes = signature->temporaries.bytes;

  static bool nativeTargetReady = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)nativeTargetReady;
  // The options hold a function_ref: the transformer must outlive create().
  std::function<llvm::Error(llvm::Module *)> optimize =
      makeOptimizingTransformer(
          /*optLevel=*/3, /*sizeLevel=*/0, /*targetMachine=*/nullptr);
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = optimize;
  auto engine = ExecutionEngine::create(module, engineOptions);
  if (!engine)
    return llvm::joinErrors(diagnostics.error("code generation failed"),
                            engine.takeError());
  result->engine = std::move(*engine);
  if (options.target == Target::Cuda) {
    // Host code launches kernels through the mgpu* ABI of the runtime.
    std::vector<std::pair<const char *, void *>> symbols = cuda::mgpuSymbols();
    result->engine->registerSymbols([&](llvm::orc::MangleAndInterner interner) {
      llvm::orc::SymbolMap map;
      for (auto [name, address] : symbols)
        map[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                               llvm::JITSymbolFlags::Exported};
      return map;
    });
  }
  // Code generation is lazy: look the entry up now so that it is counted as
  // compile time, not as the first call.
  auto entryPoint =
      result->engine->lookupPacked("_mlir_ciface_" + result->entryName);
  if (!entryPoint)
    return llvm::joinErrors(diagnostics.error("code generation failed"),
                            entryPoint.takeError());
  result->compileTime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return result;
}

llvm::Expected<std::unique_ptr<CpuFunction>>
CpuFunction::load(StringRef directory) {
  std::shared_ptr<const aot::Library> library;
  if (std::string error = aot::Library::load(directory.str(), library);
      !error.empty())
    return llvm::createStringError(error);
  const aot::Manifest &manifest = library->manifest();
  std::unique_ptr<CpuFunction> result(new CpuFunction());
  for (auto [specs, tensors] :
       {std::pair{&result->inputSpecs, &manifest.inputs},
        std::pair{&result->outputSpecs, &manifest.outputs}})
    for (const aot::ArtifactTensor &tensor : *tensors) {
      TensorSpec spec;
      spec.shape = tensor.shape;
      auto type = parseElementType(tensor.type);
      if (!type)
        return llvm::createStringError(directory + ": element type " +
                                       tensor.type + " of " + tensor.name);
      spec.type = *type;
      specs->push_back(std::move(spec));
    }
  llvm::StringRef entry = manifest.entry;
  entry.consume_front("_mlir_packed_");
  result->entryName = entry.str();
  result->compiledFor = manifest.cuda ? Target::Cuda : Target::Cpu;
  result->library = std::move(library);
  return result;
}

llvm::Expected<std::unique_ptr<CpuFunction>>
CpuFunction::compileSource(StringRef source, StringRef entry,
                           const CompileOptions &options) {
  std::unique_ptr<MLIRContext> context = createCompilerContext();
  DiagnosticCollector diagnostics(context.get());
  // MLIR's lexer reads the byte after the buffer and needs it to be NUL; a
  // StringRef need not be NUL-terminated.
  std::string text = source.str();
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(text, context.get());
  if (!module)
    return diagnostics.error("cannot parse the MLIR source");
  return compile(*module, entry, options);
}

llvm::Expected<std::unique_ptr<CpuFunction>>
CpuFunction::compileFile(StringRef path, StringRef entry,
                         const CompileOptions &options) {
  std::unique_ptr<MLIRContext> context = createCompilerContext();
  DiagnosticCollector diagnostics(context.get());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(path, context.get());
  if (!module)
    return diagnostics.error("cannot parse " + path);
  return compile(*module, entry, options);
}

/// Validates `config`, then compiles the function `build` makes of it.
static llvm::Expected<std::unique_ptr<CpuFunction>>
compileConfig(const AttentionConfig &config,
              function_ref<OwningOpRef<ModuleOp>(MLIRContext &)> build,
              StringRef entry, const CompileOptions &options) {
  std::string invalid = config.validate();
  if (!invalid.empty())
    return llvm::createStringError("invalid attention configuration: " +
                                   invalid);
  std::unique_ptr<MLIRContext> context = createCompilerContext();
  OwningOpRef<ModuleOp> module = build(*context);
  return CpuFunction::compile(*module, entry, options);
}

llvm::Expected<std::unique_ptr<CpuFunction>>
CpuFunction::compileAttention(const AttentionConfig &config,
                              const CompileOptions &options) {
  return compileConfig(
      config,
      [&](MLIRContext &context) {
        return buildAttentionModule(context, config);
      },
      "attention", options);
}

llvm::Expected<std::unique_ptr<CpuFunction>>
CpuFunction::compileAttentionGrad(const AttentionConfig &config,
                                  const CompileOptions &options) {
  return compileConfig(
      config,
      [&](MLIRContext &context) {
        return buildAttentionGradModule(context, config);
      },
      "attention_grad", options);
}

llvm::Error CpuFunction::callInPlace(llvm::ArrayRef<const void *> inputs,
                                     llvm::ArrayRef<void *> outputs) const {
  if (inputs.size() != inputSpecs.size() ||
      outputs.size() != outputSpecs.size())
    return llvm::createStringError(
        llvm::formatv("{0} takes {1} inputs and {2} outputs, got {3} and {4}",
                      entryName, inputSpecs.size(), outputSpecs.size(),
                      inputs.size(), outputs.size())
            .str());
  std::vector<std::vector<int64_t>> descriptors;
  for (size_t i = 0; i < inputs.size(); ++i)
    descriptors.push_back(denseDescriptor(inputSpecs[i].shape, inputs[i]));
  for (size_t i = 0; i < outputs.size(); ++i)
    descriptors.push_back(denseDescriptor(outputSpecs[i].shape, outputs[i]));
  for (size_t i = 0; i < descriptors.size(); ++i) {
    const void *data =
        i < inputs.size() ? inputs[i] : outputs[i - inputs.size()];
    if (!data)
      return llvm::createStringError(
          llvm::formatv("{0} {1} is a null pointer",
                        i < inputs.size() ? "input" : "output",
                        i < inputs.size() ? i : i - inputs.size())
              .str());
  }
  if (compiledFor == Target::Cuda) {
    std::string error = cuda::initialize();
    if (error.empty())
      error = cuda::takeError(); // Errors of earlier calls are not ours.
    if (!error.empty())
      return llvm::createStringError(error);
  }
  // The C wrapper takes each memref as a pointer to its descriptor;
  // invokePacked takes a pointer to each argument.
  std::vector<void *> descriptorPointers, args;
  for (auto &d : descriptors)
    descriptorPointers.push_back(d.data());
  for (auto &p : descriptorPointers)
    args.push_back(&p);
  if (library) {
    library->call(args.data());
  } else if (llvm::Error error =
                 engine->invokePacked("_mlir_ciface_" + entryName, args)) {
    return error;
  }
  if (compiledFor == Target::Cuda) {
    std::string error = cuda::takeError();
    if (error.empty())
      error = cuda::synchronize();
    // The runtime launches nothing after a failed allocation; say what the
    // call needed.
    if (error.find("CUDA_ERROR_OUT_OF_MEMORY") != std::string::npos &&
        temporaryBufferBytes)
      error += "; the function's temporary buffers take " +
               formatBytes(temporaryBufferBytes) + " of device memory per call";
    if (!error.empty())
      return llvm::createStringError(error);
  }
  return llvm::Error::success();
}

llvm::Error CpuFunction::call(llvm::ArrayRef<const void *> inputs,
                              llvm::ArrayRef<void *> outputs) const {
  if (compiledFor == Target::Cpu)
    return callInPlace(inputs, outputs);
  if (std::string error = cuda::initialize(); !error.empty())
    return llvm::createStringError(error);
  if (inputs.size() != inputSpecs.size() ||
      outputs.size() != outputSpecs.size())
    return callInPlace(inputs, outputs); // Reports the count mismatch.
  // Stage host buffers through device memory.
  std::vector<void *> device(inputs.size() + outputs.size(), nullptr);
  auto releaseAll = [&] {
    for (void *buffer : device)
      if (buffer)
        cuda::release(buffer);
  };
  std::string error;
  for (size_t i = 0; i < device.size() && error.empty(); ++i) {
    const TensorSpec &spec =
        i < inputs.size() ? inputSpecs[i] : outputSpecs[i - inputs.size()];
    error = cuda::allocate(&device[i], spec.numBytes());
    if (error.empty() && i < inputs.size()) {
      if (!inputs[i])
        error = llvm::formatv("input {0} is a null pointer", i).str();
      else
        error = cuda::copyToDevice(device[i], inputs[i], spec.numBytes());
    }
  }
  if (!error.empty()) {
    releaseAll();
    return llvm::createStringError(error);
  }
  std::vector<const void *> deviceInputs(device.begin(),
                                         device.begin() + inputs.size());
  std::vector<void *> deviceOutputs(device.begin() + inputs.size(),
                                    device.end());
  if (llvm::Error callError = callInPlace(deviceInputs, deviceOutputs)) {
    releaseAll();
    return callError;
  }
  for (size_t i = 0; i < outputs.size() && error.empty(); ++i) {
    if (!outputs[i])
      error = llvm::formatv("output {0} is a null pointer", i).str();
    else
      error = cuda::copyToHost(outputs[i], deviceOutputs[i],
                               outputSpecs[i].numBytes());
  }
  releaseAll();
  return error.empty() ? llvm::Error::success()
                       : llvm::createStringError(error);
}

} // namespace dash
