//===- dash-run.cpp - Compile, run and check one DashAttention ------------===//
//
// The runner users call: compiles an attention (from flags or from a function
// in an .mlir file), runs it on seeded or saved inputs, times it and checks it
// against the double-precision oracle; with --backward it also compiles, runs,
// times and checks the gradient function. The last line of its output is a
// one-line summary for scripts.
//
//===----------------------------------------------------------------------===//

#include "dash/Check/Check.h"
#include "dash/Dialect/Dash/IR/Dash.h"
#include "dash/InitAllDash.h"
#include "dash/JIT/Aot.h"
#include "dash/JIT/CpuFunction.h"
#include "dash/JIT/KernelCache.h"
#include "dash/Runtime/CudaRuntime.h"
#include "dash/Support/Npy.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/InterleavedRange.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>
#include <optional>

using namespace dash;
namespace cl = llvm::cl;

namespace {

enum class RouterGradMode { Full, None };

cl::OptionCategory runCategory("dash-run options");

cl::opt<std::string>
    inputFile(cl::Positional, cl::init(""), cl::cat(runCategory),
              cl::desc("[<file.mlir>: a function around one dash.attention "
                       "(instead of --attention)]"));
cl::opt<std::string>
    entry("entry", cl::init(""), cl::cat(runCategory), cl::value_desc("name"),
          cl::desc("Function of <file.mlir> to run; its arguments must be the "
                   "q, k, v[, w] operands of its dash.attention and it must "
                   "return the op's o, lse and counts (default: the only "
                   "function)"));
cl::opt<std::string> shapes(
    "attention", cl::init(""), cl::cat(runCategory),
    cl::value_desc("B,H,Hkv,N,D"),
    cl::desc("Build the attention: batch, query heads, KV heads, sequence "
             "length, head dim"));
cl::opt<int64_t> blockSize("block", cl::init(64), cl::cat(runCategory),
                           cl::desc("Block size Bk"));
cl::opt<double> alpha("alpha", cl::init(1.5), cl::cat(runCategory),
                      cl::desc("entmax alpha, > 1 (2 is sparsemax)"));
cl::opt<double> gamma("gamma", cl::init(1.0), cl::cat(runCategory),
                      cl::desc("Routing scale: larger is sparser"));
cl::opt<double> sigma("sigma", cl::init(1.0), cl::cat(runCategory),
                      cl::desc("Prior temperature of the centered prior"));
cl::opt<Prior>
    prior("prior", cl::init(Prior::Centered), cl::cat(runCategory),
          cl::desc("How router probabilities bias the fine attention"),
          cl::values(clEnumValN(Prior::Raw, "raw", "log pi"),
                     clEnumValN(Prior::Centered, "centered",
                                "(log pi - mean log pi) / sigma"),
                     clEnumValN(Prior::Flat, "flat", "a pure block mask")));
cl::opt<int64_t> localBlocks("local-blocks", cl::init(0), cl::cat(runCategory),
                             cl::desc("Blocks before the diagonal one that "
                                      "every query attends"));
cl::opt<int64_t> initBlocks("init-blocks", cl::init(0), cl::cat(runCategory),
                            cl::desc("Leading blocks every query attends"));
cl::opt<double> scale("scale", cl::cat(runCategory),
                      cl::desc("Softmax scale (default 1/sqrt(D))"));
cl::opt<bool> withW("with-w", cl::cat(runCategory),
                    cl::desc("Take the summary query W [Hkv, D] as an input "
                             "(else summaries are mean-pooled)"));
cl::opt<ElementType>
    dtype("dtype", cl::init(ElementType::F32), cl::cat(runCategory),
          cl::desc("Element type of Q, K, V, W and O"),
          cl::values(clEnumValN(ElementType::F32, "f32", "32-bit float"),
                     clEnumValN(ElementType::BF16, "bf16", "bfloat16")));
cl::opt<Target>
    target("target", cl::init(Target::Cpu), cl::cat(runCategory),
           cl::desc("Where to run"),
           cl::values(clEnumValN(Target::Cpu, "cpu", "the host, JIT-compiled"),
                      clEnumValN(Target::Cuda, "cuda",
                                 "an NVIDIA GPU, through dash-nvvm-pipeline "
                                 "and the driver-only runtime")));
cl::opt<std::string> emitAot(
    "emit-aot", cl::init(""), cl::cat(runCategory), cl::value_desc("dir"),
    cl::desc("Also write an ahead-of-time artifact of the function (the "
             "gradient function with --backward) to <dir>, for dash-aot-run"));
cl::opt<std::string>
    chip("chip", cl::init(""), cl::cat(runCategory),
         cl::desc("CUDA chip, e.g. sm_80 or sm_90a (default: the device's)"));
cl::opt<bool>
    backward("backward", cl::cat(runCategory),
             cl::desc("Also compile, run and check the gradient function "
                      "(dQ, dK, dV[, dW] for an upstream gradient dO; for an "
                      ".mlir input it is built from its dash.attention's "
                      "configuration); --repeat and median_ms then time the "
                      "gradient function"));
cl::opt<RouterGradMode> routerGrad(
    "router-grad", cl::init(RouterGradMode::Full), cl::cat(runCategory),
    cl::desc("Whether the backward pass differentiates the router"),
    cl::values(clEnumValN(RouterGradMode::Full, "full",
                          "gradients flow into the router"),
               clEnumValN(RouterGradMode::None, "none",
                          "stop at the pooled router probabilities: only the "
                          "fine attention contributes, dW = 0")));
cl::opt<uint64_t>
    seed("seed", cl::init(0), cl::cat(runCategory),
         cl::desc("Seed of the random inputs (and, with --backward, "
                  "seed + 1000 of dO)"));
cl::opt<std::string>
    inputsDir("inputs", cl::init(""), cl::cat(runCategory),
              cl::value_desc("dir"),
              cl::desc("Read q.npy, k.npy, v.npy (and w.npy with W) from "
                       "<dir> instead of drawing random inputs; with "
                       "--backward also do.npy when it is there (else dO is "
                       "drawn from seed + 1000)"));
cl::opt<std::string>
    saveDir("save", cl::init(""), cl::cat(runCategory), cl::value_desc("dir"),
            cl::desc("Write the inputs and o.npy, lse.npy, counts.npy "
                     "(float32 and int32) to <dir>; with --backward also "
                     "do.npy and dq.npy, dk.npy, dv.npy[, dw.npy]"));
cl::opt<std::string> cacheDir(
    "cache-dir", cl::init(""), cl::cat(runCategory), cl::value_desc("dir"),
    cl::desc("Disk kernel cache: load compiled functions from <dir>, store "
             "new ones there (default: $DASH_CACHE_DIR, else "
             "$XDG_CACHE_HOME/dash, else ~/.cache/dash)"));
cl::opt<bool> noCache("no-cache", cl::cat(runCategory),
                      cl::desc("Compile in memory, without the disk cache"));
cl::opt<unsigned> repeat("repeat", cl::init(1), cl::cat(runCategory),
                         cl::desc("Calls to time; the median is reported"));
cl::opt<bool> noCheck("no-check", cl::cat(runCategory),
                      cl::desc("Skip the comparison with the oracle (which is "
                               "slow: double precision, no sparsity)"));

llvm::Error error(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string pathIn(llvm::StringRef dir, llvm::StringRef name) {
  llvm::SmallString<128> path(dir);
  llvm::sys::path::append(path, name);
  return path.str().str();
}

/// The configuration flags, which an .mlir input fixes itself.
std::vector<cl::Option *> configOptions() {
  return {&shapes,      &blockSize,  &alpha, &gamma, &sigma,      &prior,
          &localBlocks, &initBlocks, &scale, &withW, &routerGrad, &dtype};
}

llvm::Expected<AttentionConfig> configFromFlags() {
  llvm::SmallVector<llvm::StringRef> fields;
  llvm::StringRef(shapes).split(fields, ',');
  AttentionConfig config;
  int64_t *sizes[] = {&config.batch, &config.heads, &config.kvHeads,
                      &config.seqLen, &config.headDim};
  if (fields.size() != std::size(sizes))
    return error("--attention expects B,H,Hkv,N,D, got '" + shapes + "'");
  for (auto [field, size] : llvm::zip_equal(fields, sizes))
    if (field.trim().getAsInteger(10, *size))
      return error("--attention expects five integers, got '" + field + "'");
  config.blockSize = blockSize;
  config.alpha = alpha;
  config.gamma = gamma;
  config.sigma = sigma;
  config.prior = prior;
  config.localBlocks = localBlocks;
  config.initBlocks = initBlocks;
  if (scale.getNumOccurrences())
    config.scale = scale;
  config.withSummaryQuery = withW;
  config.routerGrad = routerGrad == RouterGradMode::Full;
  config.dtype = dtype;
  return config;
}

/// Reads the configuration of the function `entry` of the .mlir input (the
/// only function when `entry` is empty; `entry` then receives its name).
llvm::Expected<AttentionConfig> configFromFile(std::string &entry) {
  mlir::DialectRegistry registry;
  mlir::dash::registerAllDashDialects(registry);
  registry.insert<mlir::func::FuncDialect, mlir::tensor::TensorDialect,
                  mlir::arith::ArithDialect>();
  mlir::MLIRContext context(registry);
  // Parse errors are reported, located, by the default handler.
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(inputFile, &context);
  if (!module)
    return error("cannot parse " + inputFile);

  mlir::func::FuncOp func;
  if (entry.empty()) {
    auto funcs = module->getOps<mlir::func::FuncOp>();
    if (!llvm::hasSingleElement(funcs))
      return error("--entry is needed: " + inputFile +
                   " does not hold exactly one function");
    func = *funcs.begin();
    entry = func.getSymName().str();
  } else {
    func = module->lookupSymbol<mlir::func::FuncOp>(entry);
  }
  if (!func)
    return error("no function @" + entry + " in " + inputFile);

  llvm::SmallVector<mlir::dash::AttentionOp> ops;
  func.walk([&](mlir::dash::AttentionOp op) { ops.push_back(op); });
  if (ops.size() != 1)
    return error("@" + entry + " must contain exactly one dash.attention, " +
                 "it has " + std::to_string(ops.size()));
  mlir::dash::AttentionOp op = ops.front();
  // The runner feeds q, k, v[, w] and reads o, lse, counts: anything else
  // around the op would make the oracle check meaningless.
  if (!llvm::equal(op->getOperands(), func.getArguments()))
    return error("the operands of the dash.attention in @" + entry +
                 " must be its arguments, in order");
  bool returnsResults = op->getNumResults() == 3;
  func.walk([&](mlir::func::ReturnOp ret) {
    returnsResults &= llvm::equal(ret.getOperands(), op->getResults());
  });
  if (!returnsResults)
    return error("@" + entry +
                 " must return the o, lse and counts results of its "
                 "dash.attention, in order");
  return configFromOp(op);
}

/// Reads `name` in the --inputs directory, of float32 or float64 and of
/// `spec`'s shape.
llvm::Error readInput(llvm::StringRef name, const TensorSpec &spec,
                      std::vector<double> &values) {
  std::string path = pathIn(inputsDir, name);
  NpyArray array;
  std::string message = readNpy(path, array);
  if (!message.empty())
    return error(message);
  if (array.shape != spec.shape) {
    std::string text;
    llvm::raw_string_ostream(text)
        << path << ": shape " << llvm::interleaved_array(array.shape)
        << ", the configuration needs " << llvm::interleaved_array(spec.shape);
    return error(text);
  }
  if (array.dtype != "<f4" && array.dtype != "<f8")
    return error(path + ": dtype " + array.dtype + ", expected <f4 or <f8");
  values =
      check::decode(array.data.data(), array.numElements(),
                    array.dtype == "<f4" ? ElementType::F32 : ElementType::F64);
  return llvm::Error::success();
}

llvm::Expected<check::AttentionData> readInputs(const AttentionConfig &config) {
  std::vector<TensorSpec> specs = attentionInputs(config);
  check::AttentionData data;
  std::vector<double> *values[] = {&data.q, &data.k, &data.v, &data.w};
  const char *names[] = {"q.npy", "k.npy", "v.npy", "w.npy"};
  for (size_t i = 0; i < specs.size(); ++i)
    if (llvm::Error err = readInput(names[i], specs[i], *values[i]))
      return err;
  std::string wPath = pathIn(inputsDir, "w.npy");
  if (!config.withSummaryQuery && llvm::sys::fs::exists(wPath))
    return error(wPath + " exists but W is not an input: pass --with-w (or "
                         "remove it)");
  check::packInputs(config, data);
  return data;
}

/// The upstream gradient dO: do.npy from the --inputs directory when it is
/// there, else standard normal from `seed + 1000`; rounded to the element type.
llvm::Expected<check::OutputGrad> outputGrad(const AttentionConfig &config,
                                             bool &fromFile) {
  fromFile =
      !inputsDir.empty() && llvm::sys::fs::exists(pathIn(inputsDir, "do.npy"));
  if (!fromFile)
    return check::randomOutputGrad(config, seed + 1000);
  TensorSpec spec = attentionGradInputs(config).back();
  check::OutputGrad grad;
  if (llvm::Error err = readInput("do.npy", spec, grad.values))
    return err;
  grad.buffer = check::encode(grad.values, spec.type);
  grad.values =
      check::decode(grad.buffer.data(), grad.values.size(), spec.type);
  return grad;
}

/// Writes `values` as float32 (float64 for f64 attention) to `name` in the
/// --save directory.
llvm::Error saveValues(llvm::StringRef name, const std::vector<int64_t> &shape,
                       const std::vector<double> &values, ElementType type) {
  bool wide = type == ElementType::F64;
  std::vector<char> bytes =
      check::encode(values, wide ? ElementType::F64 : ElementType::F32);
  std::string message = writeNpy(pathIn(saveDir, name), shape,
                                 wide ? "<f8" : "<f4", bytes.data());
  return message.empty() ? llvm::Error::success() : error(message);
}

llvm::Error save(const AttentionConfig &config,
                 const check::AttentionData &data,
                 const check::AttentionOutputs &outputs) {
  if (std::error_code ec = llvm::sys::fs::create_directories(saveDir))
    return error("cannot create " + saveDir + ": " + ec.message());
  std::vector<TensorSpec> ins = attentionInputs(config);
  std::vector<TensorSpec> outs = attentionOutputs(config);
  const std::vector<double> *values[] = {&data.q, &data.k, &data.v, &data.w};
  const char *names[] = {"q.npy", "k.npy", "v.npy", "w.npy"};
  for (size_t i = 0; i < ins.size(); ++i)
    if (llvm::Error err =
            saveValues(names[i], ins[i].shape, *values[i], config.dtype))
      return err;
  std::vector<double> o =
      check::decode(outputs.out.data(), outs[0].numElements(), config.dtype);
  std::vector<double> lse(outputs.lse.begin(), outputs.lse.end());
  if (llvm::Error err = saveValues("o.npy", outs[0].shape, o, config.dtype))
    return err;
  if (llvm::Error err =
          saveValues("lse.npy", outs[1].shape, lse, ElementType::F32))
    return err;
  std::string message = writeNpy(pathIn(saveDir, "counts.npy"), outs[2].shape,
                                 "<i4", outputs.counts.data());
  return message.empty() ? llvm::Error::success() : error(message);
}

/// Writes do.npy and dq.npy, dk.npy, dv.npy[, dw.npy] to the --save
/// directory (which save() created).
llvm::Error saveGradients(const AttentionConfig &config,
                          const check::OutputGrad &dOut,
                          const check::GradientOutputs &grads) {
  std::vector<TensorSpec> ins = attentionGradInputs(config);
  if (llvm::Error err =
          saveValues("do.npy", ins.back().shape, dOut.values, config.dtype))
    return err;
  std::vector<TensorSpec> outs = attentionGradOutputs(config);
  const char *names[] = {"dq.npy", "dk.npy", "dv.npy", "dw.npy"};
  for (size_t i = 0; i < outs.size(); ++i) {
    std::vector<double> values = check::decode(
        grads.buffers[i].data(), outs[i].numElements(), outs[i].type);
    if (llvm::Error err =
            saveValues(names[i], outs[i].shape, values, config.dtype))
      return err;
  }
  return llvm::Error::success();
}

/// The median of `millis`.
double medianOf(std::vector<double> millis) {
  std::sort(millis.begin(), millis.end());
  size_t n = millis.size();
  return (millis[(n - 1) / 2] + millis[n / 2]) / 2;
}

/// Calls `function` `calls` times on host buffers; returns the median in
/// milliseconds. On CUDA the inputs are copied to the device once and each
/// call is timed with CUDA events on device buffers.
llvm::Expected<double> timeCalls(const CpuFunction &function,
                                 llvm::ArrayRef<const void *> ins,
                                 llvm::ArrayRef<void *> outs, unsigned calls) {
  std::vector<double> millis;
  if (function.target() == Target::Cpu) {
    for (unsigned i = 0; i < calls; ++i) {
      auto start = std::chrono::steady_clock::now();
      if (llvm::Error err = function.call(ins, outs))
        return std::move(err);
      millis.push_back(std::chrono::duration<double, std::milli>(
                           std::chrono::steady_clock::now() - start)
                           .count());
    }
    return medianOf(millis);
  }
  std::vector<void *> device;
  auto releaseAll = [&] {
    for (void *buffer : device)
      cuda::release(buffer);
  };
  auto fail = [&](const std::string &message) -> llvm::Error {
    releaseAll();
    return error(message);
  };
  for (size_t i = 0; i < ins.size() + outs.size(); ++i) {
    const TensorSpec &spec = i < ins.size()
                                 ? function.inputs()[i]
                                 : function.outputs()[i - ins.size()];
    void *buffer = nullptr;
    if (std::string e = cuda::allocate(&buffer, spec.numBytes()); !e.empty())
      return fail(e);
    device.push_back(buffer);
    if (i < ins.size())
      if (std::string e = cuda::copyToDevice(buffer, ins[i], spec.numBytes());
          !e.empty())
        return fail(e);
  }
  std::vector<const void *> deviceIns(device.begin(),
                                      device.begin() + ins.size());
  std::vector<void *> deviceOuts(device.begin() + ins.size(), device.end());
  cuda::EventTimer timer;
  for (unsigned i = 0; i < calls; ++i) {
    float ms = 0;
    if (std::string e = timer.start(); !e.empty())
      return fail(e);
    if (llvm::Error err = function.callInPlace(deviceIns, deviceOuts)) {
      releaseAll();
      return std::move(err);
    }
    if (std::string e = timer.stop(ms); !e.empty())
      return fail(e);
    millis.push_back(ms);
  }
  for (size_t i = 0; i < outs.size(); ++i)
    if (std::string e = cuda::copyToHost(outs[i], deviceOuts[i],
                                         function.outputs()[i].numBytes());
        !e.empty())
      return fail(e);
  releaseAll();
  return medianOf(millis);
}

/// How to compile for --target: CUDA needs a device to pick its chip.
llvm::Expected<CompileOptions> compileOptions() {
  CompileOptions options;
  options.target = target;
  if (target == Target::Cpu)
    return options;
  if (std::string e = cuda::initialize(); !e.empty())
    return error("--target cuda: " + e);
  auto [major, minor] = cuda::computeCapability();
  options.chip = !chip.empty()
                     ? std::string(chip)
                     : "sm_" + std::to_string(major) + std::to_string(minor) +
                           (major == 9 ? "a" : "");
  llvm::outs() << "dash-run: device " << cuda::deviceName() << " ("
               << options.chip << ")\n";
  return options;
}

/// The disk cache the flags select.
DiskCache diskCache() {
  if (noCache)
    return DiskCache();
  return DiskCache(cacheDir.getNumOccurrences()
                       ? std::string(cacheDir)
                       : DiskCache::defaultDirectory());
}

/// "compiled in 0.313 s (...)" or "loaded from the disk cache in 2.1 ms
/// (...)": how `what` was obtained.
void printCompileInfo(llvm::StringRef what, const CompileInfo &info) {
  llvm::outs() << "dash-run: " << what;
  if (info.source == CompileInfo::Source::DiskCache) {
    llvm::outs() << "loaded from the disk cache in "
                 << llvm::format("%.3f", info.totalMs) << " ms (" << info.entry
                 << ")\n";
    return;
  }
  llvm::outs() << "compiled in " << llvm::format("%.3f", info.compileMs / 1000)
               << " s (";
  if (!info.entry.empty())
    llvm::outs() << "stored in the disk cache " << info.entry;
  else
    llvm::outs() << "not in the disk cache: " << info.note;
  if (!info.entry.empty() && !info.note.empty())
    llvm::outs() << "; " << info.note;
  llvm::outs() << ")\n";
}

/// The configuration from the flags or from the .mlir input, whichever the
/// user gave; `entryName` receives the function to compile from the file.
llvm::Expected<AttentionConfig> configure(std::string &entryName) {
  if (inputFile.empty()) {
    if (shapes.empty())
      return error("give --attention B,H,Hkv,N,D or an .mlir file (see "
                   "--help)");
    if (entry.getNumOccurrences())
      return error("--entry applies to an .mlir input only");
    return configFromFlags();
  }
  for (cl::Option *option : configOptions())
    if (option->getNumOccurrences())
      return error("--" + option->ArgStr +
                   " does not apply to an .mlir input: its dash.attention "
                   "defines the configuration");
  return configFromFile(entryName);
}

bool sameSpecs(llvm::ArrayRef<TensorSpec> a, llvm::ArrayRef<TensorSpec> b) {
  return llvm::equal(a, b, [](const TensorSpec &x, const TensorSpec &y) {
    return x.shape == y.shape && x.type == y.type;
  });
}

/// Runs everything; returns whether the check passed.
llvm::Expected<bool> run() {
  if (repeat < 1)
    return error("--repeat must be at least 1");

  std::string entryName = entry;
  llvm::Expected<AttentionConfig> config = configure(entryName);
  if (!config)
    return config.takeError();
  std::string invalid = config->validate();
  if (!invalid.empty())
    return error("invalid configuration: " + invalid);
  llvm::outs() << "dash-run: config " << config->str() << "\n";

  llvm::Expected<check::AttentionData> data =
      inputsDir.empty() ? check::randomInputs(*config, seed)
                        : readInputs(*config);
  if (!data)
    return data.takeError();
  llvm::outs() << "dash-run: inputs "
               << (inputsDir.empty() ? "random, seed " + std::to_string(seed)
                                     : "from " + inputsDir)
               << "\n";

  llvm::Expected<CompileOptions> options = compileOptions();
  if (!options)
    return options.takeError();
  if (!emitAot.empty()) {
    if (llvm::Error err =
            writeAttentionAot(*config, backward, *options, emitAot))
      return err;
    llvm::outs() << "dash-run: wrote the AOT artifact " << emitAot << "\n";
  }
  DiskCache cache = diskCache();
  CompileInfo forwardInfo;
  auto compileForward = [&]() -> llvm::Expected<std::unique_ptr<CpuFunction>> {
    if (inputFile.empty())
      return compileAttentionCached(*config, /*gradient=*/false, *options,
                                    cache, forwardInfo);
    auto text = llvm::MemoryBuffer::getFile(inputFile);
    if (!text)
      return error("cannot read " + inputFile + ": " +
                   text.getError().message());
    return compileSourceCached((*text)->getBuffer(), entryName, *options, cache,
                               forwardInfo);
  };
  auto function = compileForward();
  if (!function)
    return function.takeError();
  if (!sameSpecs((*function)->inputs(), attentionInputs(*config)) ||
      !sameSpecs((*function)->outputs(), attentionOutputs(*config)))
    return error("the compiled function's signature does not match its "
                 "configuration");
  printCompileInfo("", forwardInfo);
  // The summary reports the function that median_ms times.
  CompileInfo timedInfo = forwardInfo;

  check::AttentionOutputs outputs(*config);
  std::vector<const void *> ins;
  for (const std::vector<char> &buffer : data->buffers)
    ins.push_back(buffer.data());
  void *outs[] = {outputs.out.data(), outputs.lse.data(),
                  outputs.counts.data()};
  // With --backward, --repeat times the gradient function: the forward one
  // runs once, for its outputs.
  unsigned forwardCalls = backward ? 1 : repeat;
  llvm::Expected<double> median =
      timeCalls(**function, ins, outs, forwardCalls);
  if (!median)
    return median.takeError();
  llvm::outs() << "dash-run: " << forwardCalls << " call(s), median "
               << llvm::format("%.3f", *median) << " ms\n";

  // The gradient function: q, k, v[, w], dO -> dQ, dK, dV[, dW].
  std::optional<check::OutputGrad> dOut;
  std::optional<check::GradientOutputs> grads;
  if (backward) {
    bool fromFile = false;
    llvm::Expected<check::OutputGrad> grad = outputGrad(*config, fromFile);
    if (!grad)
      return grad.takeError();
    dOut = std::move(*grad);
    llvm::outs() << "dash-run: output gradient "
                 << (fromFile ? "from " + pathIn(inputsDir, "do.npy")
                              : "random, seed " + std::to_string(seed + 1000))
                 << "\n";
    CompileInfo gradientInfo;
    auto gradient = compileAttentionCached(*config, /*gradient=*/true, *options,
                                           cache, gradientInfo);
    if (!gradient)
      return gradient.takeError();
    if (!sameSpecs((*gradient)->inputs(), attentionGradInputs(*config)) ||
        !sameSpecs((*gradient)->outputs(), attentionGradOutputs(*config)))
      return error("the compiled gradient function's signature does not "
                   "match its configuration");
    printCompileInfo("gradient ", gradientInfo);
    timedInfo = gradientInfo;
    grads.emplace(*config);
    std::vector<const void *> gradIns = ins;
    gradIns.push_back(dOut->buffer.data());
    median = timeCalls(**gradient, gradIns, grads->pointers(), repeat);
    if (!median)
      return median.takeError();
    llvm::outs() << "dash-run: gradient " << repeat << " call(s), median "
                 << llvm::format("%.3f", *median) << " ms\n";
  }

  if (!saveDir.empty()) {
    if (llvm::Error err = save(*config, *data, outputs))
      return err;
    if (backward)
      if (llvm::Error err = saveGradients(*config, *dOut, *grads))
        return err;
    llvm::outs() << "dash-run: saved to " << saveDir << "\n";
  }

  double density = check::density(*config, outputs.counts);
  double relL2 = NAN, maxAbs = NAN;
  bool passed = true;
  if (noCheck) {
    llvm::outs() << "dash-run: density " << llvm::format("%.4f", density)
                 << ", not checked\n";
  } else {
    oracle::ForwardResult reference = oracle::forward(
        check::toOracle(*config), data->q, data->k, data->v, data->w);
    check::Comparison result = check::compare(*config, outputs, reference);
    relL2 = result.worstRelL2();
    maxAbs = result.outMaxAbs;
    passed = result.passes(config->dtype);
    llvm::outs() << "dash-run: against the oracle (relative L2 tolerance "
                 << llvm::format("%g", check::tolerance(config->dtype))
                 << "):\n"
                 << "dash-run:   O      rel_l2="
                 << llvm::format("%.3e", result.outRelL2)
                 << " max_abs=" << llvm::format("%.3e", result.outMaxAbs)
                 << "\n"
                 << "dash-run:   LSE    rel_l2="
                 << llvm::format("%.3e", result.lseRelL2) << "\n"
                 << "dash-run:   counts " << result.countMismatches << " of "
                 << outputs.counts.size() << " rows differ (oracle min margin "
                 << llvm::format("%.3e", reference.minMargin)
                 << ": selection decisions this close to tau may flip)\n"
                 << (result.finite ? "" : "dash-run:   non-finite values\n")
                 << "dash-run: density " << llvm::format("%.4f", density)
                 << " (oracle " << llvm::format("%.4f", reference.density)
                 << ")\n";
    if (backward) {
      oracle::Gradients expected =
          oracle::backward(check::toOracle(*config), data->q, data->k, data->v,
                           data->w, reference, dOut->values);
      check::GradientComparison gradResult =
          check::compareGradients(*config, *grads, expected);
      relL2 = std::max(relL2, gradResult.worstRelL2());
      passed = passed && gradResult.passes(config->dtype);
      llvm::outs() << "dash-run: gradients against the oracle (router_grad="
                   << (config->routerGrad ? "full" : "none")
                   << ", oracle min margin "
                   << llvm::format("%.3e", reference.minMargin) << "):\n";
      const char *names[] = {"dQ", "dK", "dV", "dW"};
      size_t count = attentionGradOutputs(*config).size();
      for (size_t i = 0; i < count; ++i)
        llvm::outs() << "dash-run:   " << names[i] << "     rel_l2="
                     << llvm::format("%.3e", gradResult.relL2[i]) << "\n";
    }
    llvm::outs() << "dash-run: " << (passed ? "PASS" : "FAIL") << "\n";
    density = reference.density;
  }
  llvm::outs() << "dash-run: target="
               << (target == Target::Cpu ? "cpu" : "cuda")
               << " rel_l2=" << llvm::format("%.3e", relL2)
               << " max_abs=" << llvm::format("%.3e", maxAbs)
               << " density=" << llvm::format("%.4f", density)
               << " median_ms=" << llvm::format("%.3f", *median)
               << " compile_ms=" << llvm::format("%.1f", timedInfo.compileMs)
               << " load_ms=" << llvm::format("%.1f", timedInfo.totalMs)
               << " cache="
               << (timedInfo.source == CompileInfo::Source::DiskCache ? "disk"
                   : timedInfo.entry.empty()                          ? "off"
                                             : "stored")
               << "\n";
  return passed;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(runCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "dash-run: compile a DashAttention for the host, run it, time it and "
      "check it against the double-precision oracle.\n\n"
      "  dash-run --attention 1,4,2,256,32 --gamma 2 --repeat 5\n"
      "  dash-run --attention 1,4,2,256,32 --with-w --backward\n"
      "  dash-run attention.mlir --entry f --inputs dir/\n\n"
      "The last line of the output is a summary: target, worst relative L2 "
      "error over O and LSE (and, with --backward, dQ, dK, dV, dW), max abs "
      "error over O, density, median ms of the forward function (of the "
      "gradient function with --backward), and how that function was "
      "obtained: compile_ms (0 when loaded), load_ms (request to callable "
      "code) and cache=stored|disk|off (compiled and stored, loaded from the "
      "disk cache, compiled without it).\n"
      "Exits 1 on any error or failed check.\n");
  llvm::Expected<bool> passed = run();
  if (!passed) {
    llvm::outs().flush();
    llvm::errs() << "dash-run: error: " << llvm::toString(passed.takeError())
                 << "\n";
    return 1;
  }
  return *passed ? 0 : 1;
}
