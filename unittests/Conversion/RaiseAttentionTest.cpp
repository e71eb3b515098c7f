//===- RaiseAttentionTest.cpp - Raised linalg attention vs the oracle ----===//
//
// A causal attention written in linalg as torch-mlir lowers
// scaled_dot_product_attention(is_causal=True, enable_gqa=True) is raised by
// dash-raise-attention, compiled for the CPU and compared with the
// DashAttention oracle. With every block forced (local-blocks >= M),
// DashAttention is dense causal attention, so the same comparison also checks
// that the function the pass matched, compiled as it is, is the attention the
// raise assumes.
//
//===----------------------------------------------------------------------===//

#include "dash/Check/Check.h"
#include "dash/Conversion/Passes.h"
#include "dash/JIT/CpuFunction.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace dash;

namespace {

constexpr double kMinMargin = 2e-6;

/// `@attention(q [B, H, N, D], k, v [B, Hkv, N, D]) -> o [B, H, N, D]` in the
/// ops torch-mlir produces: repeat_interleave of K and V, batch_matmul on
/// [B * H, N, D], division by sqrt(D), an additive causal bias computed from
/// indices, keepdim softmax reductions.
std::string linalgAttention(const AttentionConfig &c) {
  std::string text = R"mlir(
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#rep = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#keep = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
#bias = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @attention(%q: tensor<@Bx@Hx@Nx@Dxf32>, %k: tensor<@Bx@KVx@Nx@Dxf32>,
                     %v: tensor<@Bx@KVx@Nx@Dxf32>) -> tensor<@Bx@Hx@Nx@Dxf32> {
  %zero = arith.constant 0.0 : f32
  %root = arith.constant @ROOT : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e5 = tensor.empty() : tensor<@Bx@KVx@Gx@Nx@Dxf32>
  %ke = tensor.expand_shape %k [[0], [1], [2, 3], [4]] output_shape [@B, @KV, 1, @N, @D]
      : tensor<@Bx@KVx@Nx@Dxf32> into tensor<@Bx@KVx1x@Nx@Dxf32>
  %kb = linalg.generic {indexing_maps = [#rep, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%ke : tensor<@Bx@KVx1x@Nx@Dxf32>) outs(%e5 : tensor<@Bx@KVx@Gx@Nx@Dxf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<@Bx@KVx@Gx@Nx@Dxf32>
  %kr = tensor.collapse_shape %kb [[0], [1, 2], [3], [4]] : tensor<@Bx@KVx@Gx@Nx@Dxf32> into tensor<@Bx@Hx@Nx@Dxf32>
  %ve = tensor.expand_shape %v [[0], [1], [2, 3], [4]] output_shape [@B, @KV, 1, @N, @D]
      : tensor<@Bx@KVx@Nx@Dxf32> into tensor<@Bx@KVx1x@Nx@Dxf32>
  %vb = linalg.generic {indexing_maps = [#rep, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%ve : tensor<@Bx@KVx1x@Nx@Dxf32>) outs(%e5 : tensor<@Bx@KVx@Gx@Nx@Dxf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<@Bx@KVx@Gx@Nx@Dxf32>
  %vr = tensor.collapse_shape %vb [[0], [1, 2], [3], [4]] : tensor<@Bx@KVx@Gx@Nx@Dxf32> into tensor<@Bx@Hx@Nx@Dxf32>
  %kte = tensor.empty() : tensor<@Bx@Hx@Dx@Nxf32>
  %kt = linalg.transpose ins(%kr : tensor<@Bx@Hx@Nx@Dxf32>) outs(%kte : tensor<@Bx@Hx@Dx@Nxf32>) permutation = [0, 1, 3, 2]
  %q3 = tensor.collapse_shape %q [[0, 1], [2], [3]] : tensor<@Bx@Hx@Nx@Dxf32> into tensor<@BHx@Nx@Dxf32>
  %kt3 = tensor.collapse_shape %kt [[0, 1], [2], [3]] : tensor<@Bx@Hx@Dx@Nxf32> into tensor<@BHx@Dx@Nxf32>
  %s3e = tensor.empty() : tensor<@BHx@Nx@Nxf32>
  %s30 = linalg.fill ins(%zero : f32) outs(%s3e : tensor<@BHx@Nx@Nxf32>) -> tensor<@BHx@Nx@Nxf32>
  %s3 = linalg.batch_matmul ins(%q3, %kt3 : tensor<@BHx@Nx@Dxf32>, tensor<@BHx@Dx@Nxf32>)
      outs(%s30 : tensor<@BHx@Nx@Nxf32>) -> tensor<@BHx@Nx@Nxf32>
  %s = tensor.expand_shape %s3 [[0, 1], [2], [3]] output_shape [@B, @H, @N, @N]
      : tensor<@BHx@Nx@Nxf32> into tensor<@Bx@Hx@Nx@Nxf32>
  %e4 = tensor.empty() : tensor<@Bx@Hx@Nx@Nxf32>
  %xs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s : tensor<@Bx@Hx@Nx@Nxf32>) outs(%e4 : tensor<@Bx@Hx@Nx@Nxf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.divf %in, %root : f32
    linalg.yield %r : f32
  } -> tensor<@Bx@Hx@Nx@Nxf32>
  %be = tensor.empty() : tensor<@Nx@Nxf32>
  %b = linalg.generic {indexing_maps = [#id2], iterator_types = ["parallel", "parallel"]}
      outs(%be : tensor<@Nx@Nxf32>) {
  ^bb0(%out: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %future = arith.cmpi ugt, %j, %i : index
    %r = arith.select %future, %ninf, %zero : f32
    linalg.yield %r : f32
  } -> tensor<@Nx@Nxf32>
  %x = linalg.generic {indexing_maps = [#id, #bias, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%xs, %b : tensor<@Bx@Hx@Nx@Nxf32>, tensor<@Nx@Nxf32>) outs(%e4 : tensor<@Bx@Hx@Nx@Nxf32>) {
  ^bb0(%in: f32, %bb: f32, %out: f32):
    %r = arith.addf %in, %bb : f32
    linalg.yield %r : f32
  } -> tensor<@Bx@Hx@Nx@Nxf32>
  %re = tensor.empty() : tensor<@Bx@Hx@Nx1xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%re : tensor<@Bx@Hx@Nx1xf32>) -> tensor<@Bx@Hx@Nx1xf32>
  %max = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x : tensor<@Bx@Hx@Nx@Nxf32>) outs(%mi : tensor<@Bx@Hx@Nx1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<@Bx@Hx@Nx1xf32>
  %exp = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %max : tensor<@Bx@Hx@Nx@Nxf32>, tensor<@Bx@Hx@Nx1xf32>) outs(%e4 : tensor<@Bx@Hx@Nx@Nxf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %d = arith.subf %in, %m : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<@Bx@Hx@Nx@Nxf32>
  %zi = linalg.fill ins(%zero : f32) outs(%re : tensor<@Bx@Hx@Nx1xf32>) -> tensor<@Bx@Hx@Nx1xf32>
  %sum = linalg.generic {indexing_maps = [#id, #keep], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%exp : tensor<@Bx@Hx@Nx@Nxf32>) outs(%zi : tensor<@Bx@Hx@Nx1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<@Bx@Hx@Nx1xf32>
  %p = linalg.generic {indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%exp, %sum : tensor<@Bx@Hx@Nx@Nxf32>, tensor<@Bx@Hx@Nx1xf32>) outs(%e4 : tensor<@Bx@Hx@Nx@Nxf32>) {
  ^bb0(%in: f32, %z: f32, %out: f32):
    %r = arith.divf %in, %z : f32
    linalg.yield %r : f32
  } -> tensor<@Bx@Hx@Nx@Nxf32>
  %p3 = tensor.collapse_shape %p [[0, 1], [2], [3]] : tensor<@Bx@Hx@Nx@Nxf32> into tensor<@BHx@Nx@Nxf32>
  %vr3 = tensor.collapse_shape %vr [[0, 1], [2], [3]] : tensor<@Bx@Hx@Nx@Dxf32> into tensor<@BHx@Nx@Dxf32>
  %o3e = tensor.empty() : tensor<@BHx@Nx@Dxf32>
  %o30 = linalg.fill ins(%zero : f32) outs(%o3e : tensor<@BHx@Nx@Dxf32>) -> tensor<@BHx@Nx@Dxf32>
  %o3 = linalg.batch_matmul ins(%p3, %vr3 : tensor<@BHx@Nx@Nxf32>, tensor<@BHx@Nx@Dxf32>)
      outs(%o30 : tensor<@BHx@Nx@Dxf32>) -> tensor<@BHx@Nx@Dxf32>
  %o = tensor.expand_shape %o3 [[0, 1], [2], [3]] output_shape [@B, @H, @N, @D]
      : tensor<@BHx@Nx@Dxf32> into tensor<@Bx@Hx@Nx@Dxf32>
  return %o : tensor<@Bx@Hx@Nx@Dxf32>
}
)mlir";
  // Longer names first: @BH before @B.
  std::pair<const char *, std::string> values[] = {
      {"@BH", std::to_string(c.batch * c.heads)},
      {"@KV", std::to_string(c.kvHeads)},
      {"@ROOT", std::to_string(std::sqrt(double(c.headDim)))},
      {"@B", std::to_string(c.batch)},
      {"@H", std::to_string(c.heads)},
      {"@G", std::to_string(c.heads / c.kvHeads)},
      {"@N", std::to_string(c.seqLen)},
      {"@D", std::to_string(c.headDim)}};
  for (auto &[name, value] : values) {
    std::string from(name);
    for (size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + value.size()))
      text.replace(at, from.size(), value);
  }
  return text;
}

/// Runs dash-raise-attention with the sparsity of `config` on `module`.
mlir::LogicalResult raise(mlir::ModuleOp module, const AttentionConfig &c) {
  mlir::dash::DashRaiseAttentionOptions options;
  options.alpha = c.alpha;
  options.blockSize = c.blockSize;
  options.gamma = c.gamma;
  options.sigma = c.sigma;
  options.prior = c.prior == Prior::Raw        ? mlir::dash::PriorMode::Raw
                  : c.prior == Prior::Centered ? mlir::dash::PriorMode::Centered
                                               : mlir::dash::PriorMode::Flat;
  options.localBlocks = c.localBlocks;
  options.initBlocks = c.initBlocks;
  mlir::PassManager pm(module.getContext());
  pm.addNestedPass<mlir::func::FuncOp>(
      mlir::dash::createDashRaiseAttention(options));
  return pm.run(module);
}

/// Compiles `module` (raised or not), runs it on inputs drawn for `config`
/// and compares O with the oracle of `config`.
void expectMatchesOracle(mlir::ModuleOp module, const AttentionConfig &config) {
  auto function = CpuFunction::compile(module, "attention");
  ASSERT_TRUE(static_cast<bool>(function))
      << llvm::toString(function.takeError());
  check::AttentionData data;
  oracle::ForwardResult reference;
  uint64_t seed = 0;
  ASSERT_TRUE(
      check::drawWithMargin(config, 11, kMinMargin, 50, data, reference, seed));
  std::vector<char> out(attentionOutputs(config)[0].numBytes());
  std::vector<const void *> inputs;
  for (const auto &buffer : data.buffers)
    inputs.push_back(buffer.data());
  llvm::Error error = (*function)->call(inputs, {out.data()});
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  std::vector<double> o =
      check::decode(out.data(), reference.out.size(), config.dtype);
  double error2 = check::relativeL2(o, reference.out);
  EXPECT_LE(error2, check::tolerance(config.dtype))
      << config.str() << " seed " << seed;
}

size_t countAttentionOps(mlir::ModuleOp module) {
  size_t count = 0;
  module.walk([&](mlir::dash::AttentionOp) { ++count; });
  return count;
}

/// B = 1, H = 4 over Hkv = 2, N = 160 (a partial last block of 32), D = 16.
AttentionConfig baseConfig() {
  AttentionConfig c;
  c.batch = 1;
  c.heads = 4;
  c.kvHeads = 2;
  c.seqLen = 160;
  c.headDim = 16;
  c.blockSize = 32;
  c.gamma = 2.0;
  c.prior = Prior::Raw;
  return c;
}

TEST(RaiseAttention, RaisedFunctionMatchesOracle) {
  AttentionConfig config = baseConfig();
  std::unique_ptr<mlir::MLIRContext> context = createCompilerContext();
  auto module = mlir::parseSourceString<mlir::ModuleOp>(linalgAttention(config),
                                                        context.get());
  ASSERT_TRUE(module);
  ASSERT_TRUE(mlir::succeeded(raise(*module, config)));
  ASSERT_EQ(countAttentionOps(*module), 1u);
  // The dense computation is gone.
  module->walk([](mlir::Operation *op) {
    EXPECT_FALSE(mlir::isa<mlir::linalg::LinalgOp>(op))
        << op->getName().getStringRef().str();
  });
  expectMatchesOracle(*module, config);
}

TEST(RaiseAttention, DenseWhenEveryBlockIsForced) {
  AttentionConfig config = baseConfig();
  config.localBlocks =
      (config.seqLen + config.blockSize - 1) / config.blockSize;
  for (bool raised : {false, true}) {
    SCOPED_TRACE(raised ? "raised" : "linalg as written");
    std::unique_ptr<mlir::MLIRContext> context = createCompilerContext();
    auto module = mlir::parseSourceString<mlir::ModuleOp>(
        linalgAttention(config), context.get());
    ASSERT_TRUE(module);
    if (raised) {
      ASSERT_TRUE(mlir::succeeded(raise(*module, config)));
      ASSERT_EQ(countAttentionOps(*module), 1u);
    }
    expectMatchesOracle(*module, config);
  }
}

} // namespace
