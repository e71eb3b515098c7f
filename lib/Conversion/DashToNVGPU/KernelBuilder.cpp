//===- KernelBuilder.cpp - Helpers to build GPU kernel bodies -------------===//

#include "KernelBuilder.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::dash::nvgpu_kernels {

ValueRange KernelBuilder::forLoop(
    Value lower, Value upper, ValueRange inits,
    function_ref<SmallVector<Value>(Value, ValueRange)> body) {
  auto loop = scf::ForOp::create(
      b, lower, upper, idx(1), inits,
      [&](OpBuilder &nested, Location, Value iv, ValueRange args) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nested.getInsertionBlock(),
                            nested.getInsertionPoint());
        scf::YieldOp::create(b, body(iv, args));
      });
  return loop.getResults();
}

ValueRange
KernelBuilder::whileLoop(ValueRange inits,
                         function_ref<Value(ValueRange)> condition,
                         function_ref<SmallVector<Value>(ValueRange)> body) {
  auto loop = scf::WhileOp::create(
      b, inits.getTypes(), inits,
      [&](OpBuilder &nested, Location, ValueRange args) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nested.getInsertionBlock(),
                            nested.getInsertionPoint());
        scf::ConditionOp::create(b, condition(args), args);
      },
      [&](OpBuilder &nested, Location, ValueRange args) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nested.getInsertionBlock(),
                            nested.getInsertionPoint());
        scf::YieldOp::create(b, body(args));
      });
  return loop.getResults();
}

void KernelBuilder::ifThen(Value condition, function_ref<void()> body) {
  auto ifOp = scf::IfOp::create(b, condition, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  body();
}

ValueRange
KernelBuilder::ifThenElse(Value condition, TypeRange types,
                          function_ref<SmallVector<Value>()> thenBody,
                          function_ref<SmallVector<Value>()> elseBody) {
  auto ifOp = scf::IfOp::create(b, types, condition, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  scf::YieldOp::create(b, thenBody());
  b.setInsertionPointToStart(ifOp.elseBlock());
  scf::YieldOp::create(b, elseBody());
  return ifOp.getResults();
}

gpu::LaunchOp KernelBuilder::launch(StringRef name, ArrayRef<int64_t> grid,
                                    int64_t threads, int64_t sharedBytes) {
  auto symbol = FlatSymbolRefAttr::get(b.getContext(), name);
  return gpu::LaunchOp::create(
      b, idx(grid[0]), idx(grid[1]), idx(grid[2]), idx(threads), idx(1), idx(1),
      sharedBytes ? i32(sharedBytes) : Value(),
      /*asyncTokenType=*/nullptr, /*asyncDependencies=*/{},
      /*workgroupAttributions=*/{}, /*privateAttributions=*/{},
      /*clusterSizeX=*/nullptr, /*clusterSizeY=*/nullptr,
      /*clusterSizeZ=*/nullptr, /*module=*/symbol, /*function=*/symbol);
}

Value KernelBuilder::quadReduce(Value v,
                                function_ref<Value(Value, Value)> combine) {
  return laneReduce(v, 4, combine);
}

Value KernelBuilder::laneReduce(Value v, int32_t lanes,
                                function_ref<Value(Value, Value)> combine) {
  for (int32_t offset = 1; offset < lanes; offset *= 2) {
    Value other =
        gpu::ShuffleOp::create(b, v, offset, kWarpSize, gpu::ShuffleMode::XOR)
            .getShuffleResult();
    v = combine(v, other);
  }
  return v;
}

/// The mma operand register of a 16-bit pair: nvvm.mma.sync takes f16
/// pairs as vector<2xf16> and bf16 pairs as i32.
static Value operandRegister(ImplicitLocOpBuilder &b, Value pair) {
  if (cast<VectorType>(pair.getType()).getElementType().isF16())
    return pair;
  Value word =
      vector::BitCastOp::create(b, VectorType::get({1}, b.getI32Type()), pair);
  return vector::ExtractOp::create(b, word, ArrayRef<int64_t>{0});
}

Value KernelBuilder::operand(Value pair) { return operandRegister(b, pair); }

SmallVector<Value> KernelBuilder::registers(Value pairs) {
  int64_t count = cast<VectorType>(pairs.getType()).getDimSize(0);
  SmallVector<Value> regs;
  for (int64_t i = 0; i < count; ++i)
    regs.push_back(operandRegister(
        b, vector::ExtractOp::create(b, pairs, ArrayRef<int64_t>{i})));
  return regs;
}

Value KernelBuilder::pack(Value lo, Value hi, Type type) {
  return operandRegister(b,
                         vector::FromElementsOp::create(
                             b, VectorType::get({2}, type),
                             ValueRange{arith::TruncFOp::create(b, type, lo),
                                        arith::TruncFOp::create(b, type, hi)}));
}

SmallVector<Value, 4> KernelBuilder::mma(ValueRange a, ValueRange bRegs,
                                         ValueRange c, Type type) {
  // nvgpu.mma.sync cannot lower bf16 operands in MLIR 22, so both 16-bit
  // types go through the NVVM op directly.
  NVVM::MMATypes ptxType =
      type.isBF16() ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  Type f32 = b.getF32Type();
  auto resultType =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  Value d = NVVM::MmaOp::create(
      b, resultType, a, bRegs, c, ArrayRef<int64_t>{16, 8, 16},
      /*b1Op=*/std::nullopt, /*intOverflow=*/std::nullopt,
      std::array<NVVM::MMATypes, 2>{ptxType, ptxType},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value, 4> out;
  for (int64_t i = 0; i < 4; ++i)
    out.push_back(LLVM::ExtractValueOp::create(b, d, ArrayRef<int64_t>{i}));
  return out;
}

void KernelBuilder::warpgroupWait(int64_t pending) {
  NVVM::WgmmaWaitGroupSyncOp::create(b, pending);
}

void KernelBuilder::asyncProxyFence() {
  NVVM::FenceProxyOp::create(
      b, NVVM::ProxyKind::async_shared,
      NVVM::SharedSpaceAttr::get(b.getContext(),
                                 NVVM::SharedSpace::shared_cta));
}

SmallVector<SmallVector<Value>>
KernelBuilder::warpgroupMma(ArrayRef<WarpgroupProduct> products, Type type,
                            bool wait) {
  MLIRContext *context = b.getContext();
  NVVM::WGMMATypes operandType =
      type.isBF16() ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
  SmallVector<Value> results;
  for (const WarpgroupProduct &product : products) {
    int64_t count = product.acc.size();
    auto structType = LLVM::LLVMStructType::getLiteral(
        context, SmallVector<Type>(count, b.getF32Type()));
    results.push_back(LLVM::PoisonOp::create(b, structType));
    for (int64_t i = 0; i < count; ++i)
      results.back() = LLVM::InsertValueOp::create(
          b, results.back(), product.acc[i], ArrayRef<int64_t>{i});
  }
  NVVM::WgmmaFenceAlignedOp::create(b);
  for (auto [product, d] : llvm::zip_equal(products, results)) {
    // PTX's layouts: A "row" is K-major; B "col" is K-major, "row" MN-major.
    NVVM::MMALayout layoutB =
        product.bMnMajor ? NVVM::MMALayout::row : NVVM::MMALayout::col;
    auto shape =
        NVVM::MMAShapeAttr::get(context, 64, 2 * product.acc.size(), 16);
    for (auto [s, step] : llvm::enumerate(product.steps)) {
      NVVM::WGMMAScaleOut scaleD = product.accumulate || s > 0
                                       ? NVVM::WGMMAScaleOut::one
                                       : NVVM::WGMMAScaleOut::zero;
      d = NVVM::WgmmaMmaAsyncOp::create(
          b, d.getType(), d, step.a, step.b, shape, operandType, operandType,
          NVVM::WGMMATypes::f32, scaleD, NVVM::WGMMAScaleIn::one,
          NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row, layoutB,
          /*satfinite=*/nullptr);
    }
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b);
  if (wait)
    warpgroupWait(0);
  SmallVector<SmallVector<Value>> out;
  for (auto [product, d] : llvm::zip_equal(products, results)) {
    out.emplace_back();
    for (int64_t i = 0, e = product.acc.size(); i < e; ++i)
      out.back().push_back(
          LLVM::ExtractValueOp::create(b, d, ArrayRef<int64_t>{i}));
  }
  return out;
}

} // namespace mlir::dash::nvgpu_kernels
