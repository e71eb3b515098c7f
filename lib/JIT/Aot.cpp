//===- Aot.cpp - Ahead-of-time artifacts ---------------------------------===//

#include "dash/JIT/Aot.h"
#include "Lowering.h"
#include "dash/Runtime/Artifact.h"
#include "dash/Runtime/CudaRuntime.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;

namespace dash {

static const char *typeName(ElementType type) { return elementTypeName(type); }

std::string hostCpuFeatures() {
  // Sorted, so that the text (part of cache keys) is stable.
  std::vector<std::string> features;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    features.push_back((feature.second ? "+" : "-") + feature.first().str());
  llvm::sort(features);
  return llvm::join(features, ",");
}

static std::string shapeString(const std::vector<int64_t> &shape) {
  std::string text;
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? "x" : "") + std::to_string(shape[i]);
  return text.empty() ? "scalar" : text;
}

/// `_mlir_packed_<entry>(void **args)`: calls the C wrapper with each
/// argument, so a runner can call any arity through one signature.
static void addPackedEntry(llvm::Module &module, llvm::StringRef cwrapper,
                           llvm::StringRef packedName) {
  llvm::Function *callee = module.getFunction(cwrapper);
  llvm::LLVMContext &context = module.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(context);
  auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(context), {ptr},
                                       /*isVarArg=*/false);
  auto *packed = llvm::Function::Create(type, llvm::Function::ExternalLinkage,
                                        packedName, module);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(context, "entry", packed));
  llvm::SmallVector<llvm::Value *> args;
  for (unsigned i = 0; i < callee->arg_size(); ++i) {
    llvm::Value *slot = b.CreateConstGEP1_64(ptr, packed->getArg(0), i);
    args.push_back(b.CreateLoad(ptr, b.CreateLoad(ptr, slot)));
  }
  b.CreateCall(callee, args);
  b.CreateRetVoid();
}

/// Routes the calls of `module` to the mgpu* runtime through pointer slots
/// `__dash_import_<name>` that the loader fills (dash/Runtime/Artifact.h),
/// and moves the constructors and destructors (which load and unload the GPU
/// modules through those slots) into `__dash_init` and `__dash_fini`, which
/// the loader calls once the slots are filled. Returns the imported names.
static llvm::Expected<std::vector<std::string>>
bindRuntimeImports(llvm::Module &module) {
  llvm::LLVMContext &context = module.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(context);
  std::vector<std::pair<const char *, void *>> runtime = cuda::mgpuSymbols();
  std::vector<llvm::Function *> imported;
  for (llvm::Function &function : module.functions())
    if (function.isDeclaration() && function.getName().starts_with("mgpu"))
      imported.push_back(&function);
  std::vector<std::string> names;
  for (llvm::Function *function : imported) {
    std::string name = function->getName().str();
    if (llvm::none_of(runtime, [&](auto &s) { return name == s.first; }))
      return llvm::createStringError(
          "the compiled code calls " + name +
          ", which Dash's CUDA runtime does not provide");
    auto *slot = new llvm::GlobalVariable(
        module, ptr, /*isConstant=*/false, llvm::GlobalValue::ExternalLinkage,
        llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(context)),
        "__dash_import_" + name);
    // The declaration becomes a private forwarder, inlined by the optimiser.
    function->setLinkage(llvm::GlobalValue::InternalLinkage);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(context, "entry", function));
    llvm::SmallVector<llvm::Value *> args(
        llvm::make_pointer_range(function->args()));
    llvm::CallInst *call = b.CreateCall(function->getFunctionType(),
                                        b.CreateLoad(ptr, slot), args);
    if (function->getReturnType()->isVoidTy())
      b.CreateRetVoid();
    else
      b.CreateRet(call);
    names.push_back(std::move(name));
  }

  // llvm.global_ctors run in ascending priority, llvm.global_dtors in
  // descending priority.
  for (auto [list, exported, ascending] :
       {std::tuple{"llvm.global_ctors", "__dash_init", true},
        std::tuple{"llvm.global_dtors", "__dash_fini", false}}) {
    std::vector<std::pair<uint64_t, llvm::Constant *>> entries;
    if (llvm::GlobalVariable *global = module.getGlobalVariable(list)) {
      if (auto *array = llvm::dyn_cast_or_null<llvm::ConstantArray>(
              global->getInitializer()))
        for (llvm::Value *operand : array->operands()) {
          auto *entry = llvm::cast<llvm::ConstantStruct>(operand);
          entries.emplace_back(
              llvm::cast<llvm::ConstantInt>(entry->getOperand(0))
                  ->getZExtValue(),
              entry->getOperand(1));
        }
      global->eraseFromParent();
    }
    // An init-capture: C++17 lambdas cannot capture a structured binding
    // (clang rejects it, which broke `make fuzz`).
    llvm::stable_sort(entries, [ascending = ascending](auto &a, auto &b) {
      return ascending ? a.first < b.first : a.first > b.first;
    });
    auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(context),
                                         /*isVarArg=*/false);
    auto *function = llvm::Function::Create(
        type, llvm::Function::ExternalLinkage, exported, module);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(context, "entry", function));
    for (auto &entry : entries)
      b.CreateCall(type, entry.second);
    b.CreateRetVoid();
  }
  return names;
}

/// Optimises `module` (as the JIT does) and emits it as a
/// position-independent object file at `path`.
static llvm::Error emitObject(llvm::Module &module, llvm::StringRef path) {
  static bool ready = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)ready;
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return llvm::createStringError("no host target: " + error);
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, llvm::sys::getHostCPUName(), hostCpuFeatures(),
      llvm::TargetOptions(), llvm::Reloc::PIC_));
  module.setTargetTriple(triple);
  module.setDataLayout(machine->createDataLayout());
  // As the JIT does: without the target machine, whose cost models made
  // compiles about 6x slower here for no faster code.
  if (llvm::Error error = makeOptimizingTransformer(
          /*optLevel=*/3, /*sizeLevel=*/0, /*targetMachine=*/nullptr)(&module))
    return error;
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError("cannot write " + path + ": " +
                                   ec.message());
  llvm::legacy::PassManager passes;
  if (machine->addPassesToEmitFile(passes, out, nullptr,
                                   llvm::CodeGenFileType::ObjectFile))
    return llvm::createStringError("the host target cannot emit objects");
  passes.run(module);
  return llvm::Error::success();
}

llvm::Error writeAotArtifact(ModuleOp module, llvm::StringRef entry,
                             const CompileOptions &options,
                             llvm::StringRef directory,
                             llvm::ArrayRef<std::string> inputNames,
                             llvm::ArrayRef<std::string> outputNames) {
  llvm::Expected<LoweredSignature> signature =
      lowerToLLVM(module, entry, options);
  if (!signature)
    return signature.takeError();
  if (std::error_code ec = llvm::sys::fs::create_directories(directory))
    return llvm::createStringError("cannot create " + directory + ": " +
                                   ec.message());

  // The manifest: what a runner needs, plus the launches for inspection.
  std::string manifest = std::string(aot::kManifestHeader) + "\n";
  manifest += llvm::formatv("target {0}\n", options.target == Target::Cuda
                                                ? "cuda " + options.chip
                                                : std::string("cpu"))
                  .str();
  manifest += "entry _mlir_packed_" + entry.str() + "\n";
  auto describe = [&](llvm::StringRef kind, llvm::ArrayRef<TensorSpec> specs,
                      llvm::ArrayRef<std::string> names,
                      llvm::StringRef fallback) {
    for (auto [i, spec] : llvm::enumerate(specs)) {
      std::string name =
          i < names.size() ? names[i] : (fallback + llvm::Twine(i)).str();
      manifest += llvm::formatv("{0} {1} {2} {3}\n", kind, name,
                                typeName(spec.type), shapeString(spec.shape))
                      .str();
    }
  };
  describe("input", signature->inputs, inputNames, "arg");
  describe("output", signature->outputs, outputNames, "result");
  module.walk([&](gpu::LaunchFuncOp launch) {
    auto size = [](Value v) {
      APInt value;
      return matchPattern(v, m_ConstantInt(&value))
                 ? std::to_string(value.getSExtValue())
                 : std::string("?");
    };
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
    manifest +=
        llvm::formatv("kernel {0} grid {1},{2},{3} block {4},{5},{6} "
                      "args {7}\n",
                      launch.getKernelName().getValue(), size(grid.x),
                      size(grid.y), size(grid.z), size(block.x), size(block.y),
                      size(block.z), launch.getKernelOperands().size())
            .str();
  });

  DiagnosticCollector diagnostics(module.getContext());
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "dash-aot");
  if (!llvmModule)
    return diagnostics.error("translation to LLVM IR failed");
  addPackedEntry(*llvmModule, ("_mlir_ciface_" + entry).str(),
                 ("_mlir_packed_" + entry).str());
  llvm::Expected<std::vector<std::string>> imports =
      bindRuntimeImports(*llvmModule);
  if (!imports)
    return imports.takeError();
  for (const std::string &name : *imports)
    manifest += "import " + name + "\n";

  llvm::SmallString<256> object(directory), library(directory),
      manifestPath(directory);
  llvm::sys::path::append(object, "kernel.o");
  llvm::sys::path::append(library, "kernel.so");
  llvm::sys::path::append(manifestPath, "manifest.txt");
  if (llvm::Error error = emitObject(*llvmModule, object))
    return error;
  llvm::ErrorOr<std::string> linker = llvm::sys::findProgramByName("c++");
  if (!linker)
    return llvm::createStringError(
        "linking kernel.so needs a C++ compiler driver (c++) on PATH");
  std::string message;
  int status = llvm::sys::ExecuteAndWait(
      *linker,
      {*linker, "-shared", "-Wl,-Bsymbolic", "-o", library.str(), object.str()},
      std::nullopt, {}, 0, 0, &message);
  if (status != 0)
    return llvm::createStringError(
        llvm::formatv("linking {0} failed ({1}): {2}", library, status, message)
            .str());
  llvm::sys::fs::remove(object);
  std::error_code ec;
  llvm::raw_fd_ostream out(manifestPath, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return llvm::createStringError("cannot write " + manifestPath + ": " +
                                   ec.message());
  out << manifest;
  return llvm::Error::success();
}

llvm::Error writeAttentionAot(const AttentionConfig &config, bool gradient,
                              const CompileOptions &options,
                              llvm::StringRef directory) {
  std::string invalid = config.validate();
  if (!invalid.empty())
    return llvm::createStringError("invalid attention configuration: " +
                                   invalid);
  std::unique_ptr<MLIRContext> context = createCompilerContext();
  OwningOpRef<ModuleOp> module =
      gradient ? buildAttentionGradModule(*context, config)
               : buildAttentionModule(*context, config);
  std::vector<std::string> inputs = {"q", "k", "v"}, outputs;
  if (config.withSummaryQuery)
    inputs.push_back("w");
  if (gradient) {
    inputs.push_back("do");
    outputs = {"dq", "dk", "dv"};
    if (config.withSummaryQuery)
      outputs.push_back("dw");
  } else {
    outputs = {"o", "lse", "counts"};
  }
  return writeAotArtifact(*module, gradient ? "attention_grad" : "attention",
                          options, directory, inputs, outputs);
}

} // namespace dash
