//===- ApiMisuseTest.cpp - Misuse of the C++ API gives llvm::Error -------===//
//
// Every way of calling CpuFunction and AttentionConfig wrongly returns an
// error that says what is wrong (and where, for MLIR input), never crashes.
//
//===----------------------------------------------------------------------===//

#include "EdgeCaseTest.h"

#include "dash/Dialect/Dash/IR/Dash.h"
#include "dash/JIT/CpuFunction.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

using namespace dash;

namespace {

/// The message of `error`, which must be an error.
template <typename T> std::string errorOf(llvm::Expected<T> value) {
  if (value) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return llvm::toString(value.takeError());
}

std::string errorOf(llvm::Error error) {
  if (!error) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return llvm::toString(std::move(error));
}

AttentionConfig validConfig() {
  AttentionConfig c;
  c.heads = 2;
  c.kvHeads = 1;
  c.seqLen = 32;
  c.headDim = 8;
  c.blockSize = 16;
  return c;
}

//===----------------------------------------------------------------------===//
// AttentionConfig::validate
//===----------------------------------------------------------------------===//

TEST(ApiMisuse, ValidConfigValidates) {
  EXPECT_EQ(validConfig().validate(), "");
}

TEST(ApiMisuse, InvalidConfigsSayWhatIsWrong) {
  const double nan = std::nan("");
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    const char *what;
    std::function<void(AttentionConfig &)> change;
    const char *message;
  } cases[] = {
      {"batch", [](AttentionConfig &c) { c.batch = 0; },
       "batch must be >= 1, got 0"},
      {"heads", [](AttentionConfig &c) { c.heads = -1; },
       "heads must be >= 1, got -1"},
      {"kv heads", [](AttentionConfig &c) { c.kvHeads = 0; },
       "kv heads must be >= 1, got 0"},
      {"seq len", [](AttentionConfig &c) { c.seqLen = 0; },
       "sequence length must be >= 1, got 0"},
      {"head dim", [](AttentionConfig &c) { c.headDim = 0; },
       "head dim must be >= 1, got 0"},
      {"groups", [](AttentionConfig &c) { c.heads = 3, c.kvHeads = 2; },
       "H = 3 (dimension 1 of query) must be a multiple of Hkv = 2"},
      {"block", [](AttentionConfig &c) { c.blockSize = 0; },
       "block_size must be >= 1, got 0"},
      {"alpha", [](AttentionConfig &c) { c.alpha = 1.0; },
       "alpha must be finite and > 1, got 1"},
      {"alpha nan", [&](AttentionConfig &c) { c.alpha = nan; },
       "alpha must be finite and > 1, got nan"},
      {"gamma", [](AttentionConfig &c) { c.gamma = 0.0; },
       "gamma must be finite and > 0, got 0"},
      {"sigma", [&](AttentionConfig &c) { c.sigma = inf; },
       "sigma must be finite and > 0, got inf"},
      {"scale", [](AttentionConfig &c) { c.scale = -0.5; },
       "scale must be finite and > 0, got -0.5"},
      {"local", [](AttentionConfig &c) { c.localBlocks = -1; },
       "local_blocks must be >= 0, got -1"},
      {"init", [](AttentionConfig &c) { c.initBlocks = -2; },
       "init_blocks must be >= 0, got -2"},
      {"dtype", [](AttentionConfig &c) { c.dtype = ElementType::I32; },
       "unsupported element type i32"},
  };
  for (const Case &test : cases) {
    AttentionConfig c = validConfig();
    test.change(c);
    EXPECT_CONTAINS(c.validate(), test.message) << test.what;
    std::string message = errorOf(CpuFunction::compileAttention(c));
    EXPECT_CONTAINS(message, "invalid attention configuration: ") << test.what;
    EXPECT_CONTAINS(message, test.message) << test.what;
    EXPECT_CONTAINS(errorOf(CpuFunction::compileAttentionGrad(c)), test.message)
        << test.what;
  }
}

TEST(ApiMisuse, ConfigWhoseTensorsCannotBeAddressed) {
  // 2^62 elements per tensor: the byte sizes overflow 64 bits.
  AttentionConfig c = validConfig();
  c.batch = int64_t(1) << 31;
  c.seqLen = int64_t(1) << 31;
  EXPECT_CONTAINS(c.validate(), "too large");
}

TEST(ApiMisuse, ConfigTooLargeForThisMachine) {
  // N = 2^22: the CPU lowering's dense fine-attention scores [1, 1, 1, N, N]
  // take 64 TiB. Compiling says so instead of crashing in malloc later.
  AttentionConfig c = validConfig();
  c.heads = 1;
  c.seqLen = int64_t(1) << 22;
  c.blockSize = 4096;
  for (bool gradient : {false, true}) {
    std::string message =
        errorOf(gradient ? CpuFunction::compileAttentionGrad(c)
                         : CpuFunction::compileAttention(c));
    EXPECT_CONTAINS(message, "the compiled code needs ");
    EXPECT_CONTAINS(message, " of temporary buffers per call (the largest is "
                             "memref<1x1x1x4194304x4194304xf32>, 64.0 TiB "
                             "(70368744177664 bytes)), more than the ");
    EXPECT_CONTAINS(message, " of memory available on this machine");
  }
}

TEST(ApiMisuse, TemporaryWhoseSizeOverflows) {
  // N = 2^31: the scores' 2^62 f32 elements take 2^64 bytes, which the
  // generated size computation would wrap to 0.
  AttentionConfig c = validConfig();
  c.heads = 1;
  c.seqLen = int64_t(1) << 31;
  c.blockSize = 4096;
  EXPECT_CONTAINS(errorOf(CpuFunction::compileAttention(c)),
                  "the compiled code would allocate a temporary buffer of "
                  "type memref<1x1x1x2147483648x2147483648xf32>, whose size "
                  "in bytes overflows 64 bits");
}

TEST(ApiMisuse, TemporariesAreCounted) {
  // The scores [1, 1, 2, 32, 32] in f32 are one of the temporaries.
  auto function = CpuFunction::compileAttention(validConfig());
  ASSERT_TRUE(static_cast<bool>(function))
      << llvm::toString(function.takeError());
  EXPECT_GE((*function)->temporaryBytes(), 2 * 32 * 32 * sizeof(float));
  EXPECT_LT((*function)->temporaryBytes(), 1u << 20);
}

//===----------------------------------------------------------------------===//
// CpuFunction::call
//===----------------------------------------------------------------------===//

class CallMisuse : public testing::Test {
protected:
  void SetUp() override {
    auto compiled = CpuFunction::compileAttention(validConfig());
    ASSERT_TRUE(static_cast<bool>(compiled))
        << llvm::toString(compiled.takeError());
    function = std::move(*compiled);
    for (const TensorSpec &spec : function->inputs())
      inputs.emplace_back(spec.numBytes());
    for (const TensorSpec &spec : function->outputs())
      outputs.emplace_back(spec.numBytes());
  }

  std::vector<const void *> inputPointers() {
    std::vector<const void *> pointers;
    for (auto &buffer : inputs)
      pointers.push_back(buffer.data());
    return pointers;
  }
  std::vector<void *> outputPointers() {
    std::vector<void *> pointers;
    for (auto &buffer : outputs)
      pointers.push_back(buffer.data());
    return pointers;
  }

  std::unique_ptr<CpuFunction> function;
  std::vector<std::vector<char>> inputs, outputs;
};

TEST_F(CallMisuse, WellFormedCallSucceeds) {
  llvm::Error error = function->call(inputPointers(), outputPointers());
  EXPECT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
}

TEST_F(CallMisuse, WrongInputCount) {
  std::vector<const void *> in = inputPointers();
  in.pop_back();
  EXPECT_CONTAINS(errorOf(function->call(in, outputPointers())),
                  "attention takes 3 inputs and 3 outputs, got 2 and 3");
}

TEST_F(CallMisuse, WrongOutputCount) {
  std::vector<void *> out = outputPointers();
  out.push_back(out.front());
  EXPECT_CONTAINS(errorOf(function->call(inputPointers(), out)),
                  "attention takes 3 inputs and 3 outputs, got 3 and 4");
}

TEST_F(CallMisuse, NullInput) {
  std::vector<const void *> in = inputPointers();
  in[1] = nullptr;
  EXPECT_CONTAINS(errorOf(function->call(in, outputPointers())),
                  "input 1 is a null pointer");
}

TEST_F(CallMisuse, NullOutput) {
  std::vector<void *> out = outputPointers();
  out[2] = nullptr;
  EXPECT_CONTAINS(errorOf(function->call(inputPointers(), out)),
                  "output 2 is a null pointer");
}

//===----------------------------------------------------------------------===//
// CpuFunction::compile*
//===----------------------------------------------------------------------===//

constexpr const char *kIdentity = R"mlir(
func.func @identity(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
)mlir";

TEST(ApiMisuse, SourceThatDoesNotParse) {
  std::string message = errorOf(CpuFunction::compileSource(
      "func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n"
      "  return %y : tensor<4xf32>\n}\n",
      "f"));
  EXPECT_CONTAINS(message, "cannot parse the MLIR source");
  EXPECT_CONTAINS(message, "\"-\":2:10): use of undeclared SSA value name");
}

TEST(ApiMisuse, SourceNotNulTerminated) {
  // The source is a prefix of a larger buffer: MLIR's lexer reads the byte
  // after the end (it expects a NUL there) and lexed the type "f32garbage"
  // instead of "f32" here, which made the module fail to parse.
  std::string buffer = std::string(kIdentity) + "!unused = f32" + "garbage";
  llvm::StringRef source(buffer.data(), buffer.size() - strlen("garbage"));
  auto function = CpuFunction::compileSource(source, "identity");
  EXPECT_TRUE(static_cast<bool>(function))
      << llvm::toString(function.takeError());
}

TEST(ApiMisuse, SourceThatDoesNotVerify) {
  std::string message = errorOf(CpuFunction::compileSource(R"mlir(
func.func @f(%q: tensor<1x3x32x8xf32>, %k: tensor<1x2x32x8xf32>,
             %v: tensor<1x2x32x8xf32>) -> tensor<1x3x32x8xf32> {
  %o = dash.attention %q, %k, %v : tensor<1x3x32x8xf32>,
      tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32> -> tensor<1x3x32x8xf32>
  return %o : tensor<1x3x32x8xf32>
}
)mlir",
                                                           "f"));
  EXPECT_CONTAINS(message, "cannot parse the MLIR source");
  EXPECT_CONTAINS(message, "\"-\":4:8): 'dash.attention' op H = 3 (dimension "
                           "1 of query) must be a multiple of Hkv = 2");
}

TEST(ApiMisuse, UnknownEntry) {
  EXPECT_CONTAINS(errorOf(CpuFunction::compileSource(kIdentity, "nope")),
                  "no function named 'nope' in the module");
  EXPECT_CONTAINS(errorOf(CpuFunction::compileSource("", "f")),
                  "no function named 'f' in the module");
}

TEST(ApiMisuse, EntryWithoutBody) {
  EXPECT_CONTAINS(
      errorOf(CpuFunction::compileSource(
          "func.func private @f(tensor<4xf32>) -> tensor<4xf32>\n", "f")),
      "function 'f' has no body");
}

TEST(ApiMisuse, ModuleWithDeclaration) {
  EXPECT_CONTAINS(
      errorOf(CpuFunction::compileSource(
          std::string(kIdentity) + "func.func private @g(f32) -> f32\n",
          "identity")),
      "function 'g' is declared without a body; compiled code cannot call "
      "functions outside its module");
}

TEST(ApiMisuse, EntryWithDynamicShapes) {
  EXPECT_CONTAINS(errorOf(CpuFunction::compileSource(R"mlir(
func.func @f(%x: tensor<?xf32>) -> tensor<?xf32> {
  return %x : tensor<?xf32>
}
)mlir",
                                                     "f")),
                  "arguments and results must be tensors of static shape, "
                  "got tensor<?xf32>");
}

TEST(ApiMisuse, EntryWithUnsupportedElementType) {
  EXPECT_CONTAINS(errorOf(CpuFunction::compileSource(R"mlir(
func.func @f(%x: tensor<4xi8>) -> tensor<4xi8> {
  return %x : tensor<4xi8>
}
)mlir",
                                                     "f")),
                  "unsupported element type i8");
}

TEST(ApiMisuse, SourceThePipelineCannotLower) {
  // Dynamic shapes inside the function: dash-to-linalg rejects them.
  std::string message = errorOf(CpuFunction::compileSource(R"mlir(
func.func @f(%q: tensor<1x1x32x8xf32>) -> tensor<1x1x32x8xf32> {
  %d = tensor.cast %q : tensor<1x1x32x8xf32> to tensor<1x1x?x8xf32>
  %o = dash.attention %d, %d, %d : tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32>,
      tensor<1x1x?x8xf32> -> tensor<1x1x?x8xf32>
  %r = tensor.cast %o : tensor<1x1x?x8xf32> to tensor<1x1x32x8xf32>
  return %r : tensor<1x1x32x8xf32>
}
)mlir",
                                                           "f"));
  EXPECT_CONTAINS(message, "dash-cpu-pipeline failed");
  // Reported on the stage op dash.attention decomposed into, at its place.
  EXPECT_CONTAINS(message, "\"-\":4:8): 'dash.summarize' op dash-to-linalg "
                           "needs static shapes");
}

TEST(ApiMisuse, MissingFile) {
  EXPECT_CONTAINS(
      errorOf(CpuFunction::compileFile("/nonexistent/attention.mlir", "f")),
      "cannot parse /nonexistent/attention.mlir");
}

TEST(ApiMisuse, NullModule) {
  EXPECT_CONTAINS(errorOf(CpuFunction::compile(mlir::ModuleOp(), "f")),
                  "null module");
}

TEST(ApiMisuse, ModuleThatDoesNotVerify) {
  // Built in C++ (so never verified by a parser) with an invalid dash op.
  std::unique_ptr<mlir::MLIRContext> context = createCompilerContext();
  AttentionConfig c = validConfig();
  c.heads = 3;
  c.kvHeads = 2;
  mlir::OwningOpRef<mlir::ModuleOp> module = buildAttentionModule(*context, c);
  std::string message = errorOf(CpuFunction::compile(*module, "attention"));
  EXPECT_CONTAINS(message, "the module does not verify");
  EXPECT_CONTAINS(message, "must be a multiple of Hkv = 2");
}

TEST(ApiMisuse, IdentityCompiles) {
  // The misuse cases above fail for their stated reason, not because
  // compileSource cannot compile anything.
  auto function = CpuFunction::compileSource(kIdentity, "identity");
  ASSERT_TRUE(static_cast<bool>(function))
      << llvm::toString(function.takeError());
  float in[4] = {1, 2, 3, 4}, out[4] = {};
  llvm::Error error = (*function)->call({in}, {out});
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  EXPECT_EQ(out[3], 4.0f);
}

TEST(ApiMisuse, ConfigFromDynamicOp) {
  std::unique_ptr<mlir::MLIRContext> context = createCompilerContext();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(R"mlir(
func.func @f(%q: tensor<1x1x?x8xf32>) -> tensor<1x1x?x8xf32> {
  %o = dash.attention %q, %q, %q : tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32>,
      tensor<1x1x?x8xf32> -> tensor<1x1x?x8xf32>
  return %o : tensor<1x1x?x8xf32>
}
)mlir",
                                              context.get());
  ASSERT_TRUE(module);
  mlir::dash::AttentionOp op;
  module->walk([&](mlir::dash::AttentionOp found) { op = found; });
  ASSERT_TRUE(op);
  EXPECT_CONTAINS(errorOf(configFromOp(op)), "needs static shapes");
}

} // namespace
