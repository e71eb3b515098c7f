//===- BlockListKernel.cpp - Per-query-tile lists of selected blocks ------===//
//
// One warp per (batch, KV head, query tile). Lane l tests candidate blocks
// l, l + 32, ... against every query row of the tile (consecutive lanes read
// consecutive blocks of a row: coalesced), and a warp-wide ballot compacts the
// selected ones in increasing order, so the attention kernel touches only
// selected blocks.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "Kernels.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <limits>

namespace mlir::dash::nvgpu_kernels {

void buildBlockListKernel(ImplicitLocOpBuilder &b, Value logPrior, Value lists,
                          Value counts) {
  KernelBuilder k(b);
  ArrayRef<int64_t> priorShape =
      cast<MemRefType>(logPrior.getType()).getShape();
  ArrayRef<int64_t> listShape = cast<MemRefType>(lists.getType()).getShape();
  int64_t seqLen = priorShape[2], numBlocks = priorShape[3];

  auto launch =
      k.launch("dash_block_lists", {listShape[2], listShape[1], listShape[0]},
               kWarpSize, /*sharedBytes=*/0);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());

  Value lane = k.threadId();
  Value tile = k.blockId(gpu::Dimension::x);
  Value head = k.blockId(gpu::Dimension::y);
  Value batch = k.blockId(gpu::Dimension::z);
  Value rowBegin = k.mul(tile, kTileRows);
  Value rows = k.min(k.idx(kTileRows), k.sub(k.idx(seqLen), rowBegin));
  // Causality: candidates are the blocks up to the tile's own (diagonal) one.
  Value candidates = k.add(tile, 1);
  Value chunks = k.add(k.div(tile, kWarpSize), 1);

  Type i32 = b.getI32Type();
  Value laneBit = arith::ShLIOp::create(
      b, k.i32(1), arith::IndexCastOp::create(b, i32, lane));
  Value lanesBelow = arith::SubIOp::create(b, laneBit, k.i32(1));
  Value negInf = k.f32(-std::numeric_limits<double>::infinity());
  Value noLane = arith::ConstantIntOp::create(b, 0, 1);

  Value count = k.forLoop(
      k.idx(0), chunks, {k.i32(0)},
      [&](Value chunk, ValueRange carried) -> SmallVector<Value> {
        Value block = k.add(k.mul(chunk, kWarpSize), lane);
        Value column = k.min(block, k.idx(numBlocks - 1));
        Value selected = k.forLoop(
            k.idx(0), rows, {noLane},
            [&](Value row, ValueRange any) -> SmallVector<Value> {
              Value prior = memref::LoadOp::create(
                  b, logPrior,
                  ValueRange{batch, head, k.add(rowBegin, row), column});
              // `une`: NaN counts as selected, so that it propagates.
              Value kept = arith::CmpFOp::create(b, arith::CmpFPredicate::UNE,
                                                 prior, negInf);
              return {arith::OrIOp::create(b, any[0], kept)};
            })[0];
        Value flag =
            arith::AndIOp::create(b, selected, k.ult(block, candidates));
        // A ballot by butterfly shuffles: nvvm.vote.sync declares no memory
        // effects, which buffer deallocation rejects.
        Value ballot = k.select(flag, laneBit, k.i32(0));
        for (int32_t offset = 1; offset < kWarpSize; offset *= 2)
          ballot = arith::OrIOp::create(
              b, ballot,
              gpu::ShuffleOp::create(b, ballot, offset, kWarpSize,
                                     gpu::ShuffleMode::XOR)
                  .getShuffleResult());
        Value before = math::CtPopOp::create(
            b, arith::AndIOp::create(b, ballot, lanesBelow));
        k.ifThen(flag, [&] {
          Value slot = arith::IndexCastOp::create(
              b, b.getIndexType(),
              arith::AddIOp::create(b, carried[0], before));
          memref::StoreOp::create(b, arith::IndexCastOp::create(b, i32, block),
                                  lists, ValueRange{batch, head, tile, slot});
        });
        return {arith::AddIOp::create(b, carried[0],
                                      math::CtPopOp::create(b, ballot))};
      })[0];
  k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, k.idx(0)),
           [&] {
             memref::StoreOp::create(b, count, counts,
                                     ValueRange{batch, head, tile});
           });
  gpu::TerminatorOp::create(b);
}

} // namespace mlir::dash::nvgpu_kernels
