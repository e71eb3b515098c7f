//===- RouterGradKernels.cpp - Tensor-core routing-logit gradient ---------===//
//
// Spec B6 as two tensor-core products over the candidate blocks (c before
// the query's own block), with f = gamma * scale:
// - dQ = f dz Kbar: one CTA per (batch, query head, 64-query tile); the
//   tile's candidates are the blocks before the tile, which it takes 64 at a
//   time: the summaries staged in shared memory as bf16 ([k][n]), dz as A
//   operands straight from global memory.
// - dKbar = f dz^T Q: one CTA per (64 blocks, KV head, batch x split); it
//   walks the query tiles after the blocks (every split-th one) and every
//   head of the group, with each Q tile staged as bf16 and dz^T as A
//   operands, and adds its sums atomically (the splits share the rows).
// The operands are bf16 whatever the query's 16-bit type: dz spans a range
// that f16 would flush to zero.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "TileEmitter.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::dash::nvgpu_kernels {
namespace {

/// CTAs the dKbar kernel aims at (two per SM of an H100).
constexpr int64_t kTargetCtas = 264;

class RouterGradEmitter : protected TileEmitter {
public:
  RouterGradEmitter(ImplicitLocOpBuilder &b, const RouteLogitsGradOperands &o)
      : TileEmitter(b, o.query), o(o) {
    element = b.getBF16Type();
    ArrayRef<int64_t> shape =
        cast<MemRefType>(o.summaries.getType()).getShape();
    kvHeads = shape[1];
    complete = shape[2];
    group = heads / kvHeads;
    tiles = llvm::divideCeilSigned(seqLen, kTileRows);
    outTiles = headDim / 8;
  }

protected:
  /// dz[batch, head, row, column] where the row is inside N and the column
  /// is a candidate (`column < candidates`), else 0.
  Value logitGrad(Value head, Value row, Value column, Value candidates) {
    Value inside = arith::AndIOp::create(b, k.ult(row, k.idx(seqLen)),
                                         k.ult(column, candidates));
    Value value = memref::LoadOp::create(
        b, o.logitsGrad,
        ValueRange{batchIndex, head, k.min(row, k.idx(seqLen - 1)),
                   k.min(column, k.idx(complete - 1))});
    return k.select(inside, value, k.f32(0.0));
  }
  /// Stages rows `rowBase ..` (fewer than `rows`, zeros past) of
  /// `source[batch, head]` in `slot` as bf16.
  void stage(Value slot, Value source, Value head, Value rowBase,
             int64_t rows) {
    auto type = cast<MemRefType>(source.getType());
    auto wide = VectorType::get({8}, b.getF32Type());
    stageTile(slot, [&](Value row, Value column) -> Value {
      Value globalRow = k.add(rowBase, row);
      Value v = vector::LoadOp::create(
          b, VectorType::get({8}, type.getElementType()), source,
          ValueRange{batchIndex, head, k.min(globalRow, k.idx(rows - 1)),
                     column});
      if (!type.getElementType().isF32())
        v = arith::ExtFOp::create(b, wide, v);
      Value zeros = arith::ConstantOp::create(
          b, wide, DenseElementsAttr::get(wide, b.getF32FloatAttr(0.0)));
      return k.select(k.ult(globalRow, k.idx(rows)), v, zeros);
    });
  }

  /// `iterations` steps of: `stageStep(i)` fills the shared tile (the B
  /// operand, [k][n]), then acc += A * B over its 64 rows, with the
  /// A operand's elements from `elementAt(i)`. Returns the accumulators.
  Accumulators
  accumulate(Value iterations, function_ref<void(Value)> stageStep,
             function_ref<Value(Value, int64_t, Value, Value)> elementAt) {
    SmallVector<Value> inits;
    flatten(zeros(outTiles), inits);
    ValueRange finals =
        k.forLoop(k.idx(0), iterations, inits,
                  [&](Value i, ValueRange carried) -> SmallVector<Value> {
                    stageStep(i);
                    gpu::BarrierOp::create(b);
                    Accumulators acc = unflatten(carried);
                    mmaB(
                        acc,
                        [&](int64_t s) {
                          return aOperandOf([&](Value m, Value column) {
                            return elementAt(i, s, m, column);
                          });
                        },
                        k.idx(0), /*kBase=*/0, /*kSteps=*/4);
                    gpu::BarrierOp::create(b);
                    SmallVector<Value> results;
                    flatten(acc, results);
                    return results;
                  });
    return unflatten(finals);
  }

  const RouteLogitsGradOperands &o;
  int64_t kvHeads, complete, group, tiles, outTiles;
};

class QueryEmitter : RouterGradEmitter {
public:
  using RouterGradEmitter::RouterGradEmitter;

  void emit() {
    OpBuilder::InsertionGuard guard(b);
    beginKernel("dash_route_logits_grad_query", {tiles, heads, batch},
                /*tiles=*/1, /*extraBytes=*/0);
    Value queryTile = k.blockId(gpu::Dimension::x);
    Value head = k.blockId(gpu::Dimension::y);
    Value kvHead = k.div(head, group);
    Value rowBegin = k.mul(queryTile, kTileRows);
    Value warpRow = k.add(rowBegin, k.mul(warp, 16));
    // Every row of the tile has the candidates 0 .. queryTile - 1.
    Value chunks = k.div(k.add(queryTile, kTileRows - 1), kTileRows);
    Accumulators acc = accumulate(
        chunks,
        [&](Value chunk) {
          stage(k.idx(0), o.summaries, kvHead, k.mul(chunk, kTileRows),
                complete);
        },
        [&](Value chunk, int64_t s, Value m, Value column) {
          return logitGrad(
              head, k.add(warpRow, m),
              k.add(k.mul(chunk, kTileRows), k.add(column, s * 16)), queryTile);
        });
    for (int64_t r = 0; r < 2; ++r) {
      Value row = k.add(rowBegin, laneRow[r]);
      k.ifThen(k.ult(row, k.idx(seqLen)),
               [&] { storeRow(acc, r, o.factor, o.queryGrad, head, row); });
    }
    gpu::TerminatorOp::create(b);
  }
};

class SummariesEmitter : RouterGradEmitter {
public:
  using RouterGradEmitter::RouterGradEmitter;

  void emit() {
    int64_t chunks = llvm::divideCeilSigned(complete, kTileRows);
    int64_t splits = std::clamp<int64_t>(
        llvm::divideCeilSigned(kTargetCtas, chunks * kvHeads * batch), 1,
        tiles);
    OpBuilder::InsertionGuard guard(b);
    beginKernel("dash_route_logits_grad_summaries",
                {chunks, kvHeads, batch * splits}, /*tiles=*/1,
                /*extraBytes=*/0);
    Value first = k.mul(k.blockId(gpu::Dimension::x), kTileRows);
    Value kvHead = k.blockId(gpu::Dimension::y);
    Value z = k.blockId(gpu::Dimension::z);
    batchIndex = k.div(z, splits);
    Value split = k.rem(z, splits);
    // Query tiles first + 1 + split, + splits, ... see these blocks.
    Value start = k.add(k.add(first, 1), split);
    Value steps = k.select(
        k.ult(start, k.idx(tiles)),
        k.div(k.add(k.sub(k.idx(tiles), start), splits - 1), splits), k.idx(0));
    Value blockRow = k.add(first, k.mul(warp, 16));
    // Iteration i: query tile start + (i / G) splits, head i % G.
    auto queryTileOf = [&](Value i) {
      return k.add(start, k.mul(k.div(i, group), splits));
    };
    auto headOf = [&](Value i) {
      return k.add(k.mul(kvHead, group), k.rem(i, group));
    };
    Accumulators acc = accumulate(
        k.mul(steps, group),
        [&](Value i) {
          stage(k.idx(0), o.query, headOf(i), k.mul(queryTileOf(i), kTileRows),
                seqLen);
        },
        [&](Value i, int64_t s, Value m, Value row) {
          Value queryTile = queryTileOf(i);
          return logitGrad(
              headOf(i), k.add(k.mul(queryTile, kTileRows), k.add(row, s * 16)),
              k.add(blockRow, m), queryTile);
        });
    for (int64_t r = 0; r < 2; ++r) {
      Value block = k.add(first, laneRow[r]);
      k.ifThen(k.ult(block, k.idx(complete)), [&] {
        addRow(acc, r, o.factor, o.summariesGrad, kvHead, block);
      });
    }
    gpu::TerminatorOp::create(b);
  }
};

} // namespace

void buildRouteLogitsGradQueryKernel(ImplicitLocOpBuilder &b,
                                     const RouteLogitsGradOperands &operands) {
  QueryEmitter(b, operands).emit();
}

void buildRouteLogitsGradSummariesKernel(
    ImplicitLocOpBuilder &b, const RouteLogitsGradOperands &operands) {
  SummariesEmitter(b, operands).emit();
}

} // namespace mlir::dash::nvgpu_kernels
