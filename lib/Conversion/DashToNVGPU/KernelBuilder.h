//===- KernelBuilder.h - Helpers to build GPU kernel bodies -----*- C++ -*-===//
//
// Short names for the arithmetic of thread-level kernel code, so that the
// kernels read like the algorithm they implement, and the warp-level
// tensor-core building blocks (ldmatrix fragments, m16n8k16 mma, warpgroup
// mma).
//
//===----------------------------------------------------------------------===//

#ifndef DASH_LIB_CONVERSION_DASHTONVGPU_KERNELBUILDER_H
#define DASH_LIB_CONVERSION_DASHTONVGPU_KERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::dash::nvgpu_kernels {

/// The 64-query tile, the key block and the CTA shape of the kernels.
constexpr int64_t kTileRows = 64;
constexpr int64_t kWarpSize = 32;
constexpr int64_t kWarps = 4;
constexpr int64_t kThreads = kWarps * kWarpSize;

/// The attribute by which a kernel body asks for that many resident CTAs per
/// SM (dash-kernel-occupancy).
constexpr llvm::StringLiteral kMinCtasPerSMAttrName = "dash.min_ctas_per_sm";

/// The sizes and element type of a query memref [B, H, N, D], which the
/// kernel emitters take as members.
struct QueryShape {
  explicit QueryShape(Value query) {
    auto type = cast<MemRefType>(query.getType());
    batch = type.getDimSize(0);
    heads = type.getDimSize(1);
    seqLen = type.getDimSize(2);
    headDim = type.getDimSize(3);
    element = type.getElementType();
  }
  int64_t batch, heads, seqLen, headDim;
  Type element;
};

class KernelBuilder {
public:
  explicit KernelBuilder(ImplicitLocOpBuilder &b) : b(b) {}
  ImplicitLocOpBuilder &builder() { return b; }

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value i32(int64_t v) { return arith::ConstantIntOp::create(b, v, 32); }
  Value f32(double v) {
    return arith::ConstantFloatOp::create(b, b.getF32Type(),
                                          APFloat(static_cast<float>(v)));
  }

  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value div(Value x, Value y) { return arith::DivUIOp::create(b, x, y); }
  Value rem(Value x, Value y) { return arith::RemUIOp::create(b, x, y); }
  Value min(Value x, Value y) { return arith::MinUIOp::create(b, x, y); }
  Value add(Value x, int64_t y) { return add(x, idx(y)); }
  Value mul(Value x, int64_t y) { return mul(x, idx(y)); }
  Value div(Value x, int64_t y) { return div(x, idx(y)); }
  Value rem(Value x, int64_t y) { return rem(x, idx(y)); }
  Value ult(Value x, Value y) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }

  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, x, y); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, x, y); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, x, y); }
  Value fdiv(Value x, Value y) { return arith::DivFOp::create(b, x, y); }
  /// NaN-propagating maximum: a NaN score must reach the output.
  Value fmax(Value x, Value y) { return arith::MaximumFOp::create(b, x, y); }
  Value fcmp(arith::CmpFPredicate predicate, Value x, Value y) {
    return arith::CmpFOp::create(b, predicate, x, y);
  }

  /// scf.for from `lower` to `upper` (step 1) carrying `inits`; `body` is
  /// built at the loop's insertion point and returns the carried values.
  ValueRange forLoop(Value lower, Value upper, ValueRange inits,
                     function_ref<SmallVector<Value>(Value, ValueRange)> body);
  /// scf.while carrying `inits`: runs `body` (which returns the carried
  /// values) while `condition` of the carried values holds.
  ValueRange whileLoop(ValueRange inits,
                       function_ref<Value(ValueRange)> condition,
                       function_ref<SmallVector<Value>(ValueRange)> body);
  /// scf.if without results.
  void ifThen(Value condition, function_ref<void()> body);
  /// scf.if whose branches return values of `types`.
  ValueRange ifThenElse(Value condition, TypeRange types,
                        function_ref<SmallVector<Value>()> thenBody,
                        function_ref<SmallVector<Value>()> elseBody);

  /// A gpu.launch of a 1-D CTA of `threads` over a 3-D `grid`, whose
  /// outlined kernel is called `name` (so that profiles name it).
  gpu::LaunchOp launch(StringRef name, ArrayRef<int64_t> grid, int64_t threads,
                       int64_t sharedBytes);

  Value threadId() { return gpu::ThreadIdOp::create(b, gpu::Dimension::x); }
  Value blockId(gpu::Dimension d) { return gpu::BlockIdOp::create(b, d); }

  /// Butterfly reduction over the four lanes that hold one row of an mma
  /// accumulator (lanes 4r .. 4r+3).
  Value quadReduce(Value v, function_ref<Value(Value, Value)> combine);
  /// Butterfly reduction over lanes that differ in the bits of `lanes - 1`
  /// (`lanes` a power of two up to 32); every lane gets the result.
  Value laneReduce(Value v, int32_t lanes,
                   function_ref<Value(Value, Value)> combine);

  /// Splits a vector<Nx2xT> of 16-bit pairs (an ldmatrix result) into the N
  /// operand registers that nvvm.mma.sync takes.
  SmallVector<Value> registers(Value pairs);
  /// The mma operand register of a vector<2xT> of 16-bit values.
  Value operand(Value pair);
  /// Packs two f32 values into one operand register of two `type` values.
  Value pack(Value lo, Value hi, Type type);

  /// D[16x8] (4 f32) += A[16x16] (4 regs) * B[16x8] (2 regs), f32
  /// accumulation, with 16-bit operands of `type` (bf16 or f16).
  SmallVector<Value, 4> mma(ValueRange a, ValueRange b, ValueRange c,
                            Type type);

  /// Orders this thread's ordinary shared-memory writes before reads by the
  /// asynchronous proxy (warpgroup mma) after the next barrier.
  void asyncProxyFence();
  /// The shared-memory matrix descriptors of A and B of one warpgroup mma
  /// step.
  struct WarpgroupOperands {
    Value a, b;
  };
  /// One product of a warpgroup mma group: `D = [D +] sum_s A_s B_s` on
  /// this thread's m64 x n accumulators `acc` (n / 2 f32 in the order of
  /// m16n8 accumulator groups: row l/4 then l/4 + 8 of the warp's 16, two
  /// columns each), one wgmma m64nNk16 per step (sm_90a): A K-major, B
  /// K-major or, with `bMnMajor`, MN-major.
  struct WarpgroupProduct {
    ValueRange acc;
    ArrayRef<WarpgroupOperands> steps;
    bool bMnMajor = false, accumulate = false;
  };
  /// Issues the products one after the other as one fenced and committed
  /// group, so that independent ones overlap in the tensor pipe, and
  /// returns each product's accumulators. Unless `wait`, they may not be
  /// read before a warpgroupWait that covers the group.
  SmallVector<SmallVector<Value>>
  warpgroupMma(ArrayRef<WarpgroupProduct> products, Type type,
               bool wait = true);
  /// Waits until at most `pending` warpgroup mma groups are in flight.
  void warpgroupWait(int64_t pending);

private:
  ImplicitLocOpBuilder &b;
};

} // namespace mlir::dash::nvgpu_kernels

#endif // DASH_LIB_CONVERSION_DASHTONVGPU_KERNELBUILDER_H
