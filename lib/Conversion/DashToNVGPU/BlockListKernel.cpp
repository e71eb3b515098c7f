//===- BlockListKernel.cpp - Lists of selected blocks, and their inverse --===//
//
// Block lists: one warp per (batch, KV head, tile of TilePacking). Lane l
// tests candidate blocks l, l + 32, ... against every token of the tile
// (consecutive lanes read consecutive blocks of a row: coalesced), and a
// warp-wide ballot compacts the selected ones in increasing order, so the
// attention kernels touch only selected blocks. The inverse lists (the query
// tiles that selected each key block, for the dK/dV kernel) compact the same
// way from a tile-by-block flag matrix the first kernel writes.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "Kernels.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <algorithm>
#include <limits>

namespace mlir::dash::nvgpu_kernels {

/// CTAs the dK/dV kernel aims at with every block kept (about 30 per SM of
/// an H100), and the fewest tiles a CTA takes from an inverse list.
constexpr int64_t kKeyValueGradCtas = 4096;
constexpr int64_t kMinSegmentLength = 64;

TilePacking::TilePacking(int64_t heads, int64_t kvHeads, int64_t seqLen,
                         int64_t blocks) {
  int64_t group = heads / kvHeads;
  headsPerTile = kTileRows % group == 0 ? group : 1;
  tokensPerTile = kTileRows / headsPerTile;
  tiles = llvm::divideCeil(seqLen, tokensPerTile);
  chunks = group / headsPerTile;
  // Causality: block c is seen by about half the tiles on average.
  int64_t work = kvHeads * chunks * blocks * tiles / 2;
  segmentLength =
      std::min(std::max(work / kKeyValueGradCtas, kMinSegmentLength), tiles);
  segments = llvm::divideCeil(tiles, segmentLength);
}

TilePacking::TilePacking(Value query, Value logPrior)
    : TilePacking(cast<MemRefType>(query.getType()).getDimSize(1),
                  cast<MemRefType>(logPrior.getType()).getDimSize(1),
                  cast<MemRefType>(logPrior.getType()).getDimSize(2),
                  cast<MemRefType>(logPrior.getType()).getDimSize(3)) {}

/// Appends the lanes whose `flag` is set, in lane order, to a list of
/// `count` (i32) entries: `store(slot)` runs in each such lane with its
/// slot. Returns the new count.
static Value appendFlaggedLanes(KernelBuilder &k, Value lane, Value count,
                                Value flag, function_ref<void(Value)> store) {
  ImplicitLocOpBuilder &b = k.builder();
  Type i32 = b.getI32Type();
  Value laneBit = arith::ShLIOp::create(
      b, k.i32(1), arith::IndexCastOp::create(b, i32, lane));
  // A ballot by butterfly shuffles: nvvm.vote.sync declares no memory
  // effects, which buffer deallocation rejects.
  Value ballot = k.select(flag, laneBit, k.i32(0));
  for (int32_t offset = 1; offset < kWarpSize; offset *= 2)
    ballot = arith::OrIOp::create(b, ballot,
                                  gpu::ShuffleOp::create(b, ballot, offset,
                                                         kWarpSize,
                                                         gpu::ShuffleMode::XOR)
                                      .getShuffleResult());
  Value before = math::CtPopOp::create(
      b, arith::AndIOp::create(b, ballot,
                               arith::SubIOp::create(b, laneBit, k.i32(1))));
  k.ifThen(flag, [&] {
    store(arith::IndexCastOp::create(b, b.getIndexType(),
                                     arith::AddIOp::create(b, count, before)));
  });
  return arith::AddIOp::create(b, count, math::CtPopOp::create(b, ballot));
}

/// Lane 0 stores the i32 `count` at `counts[indices]`.
static void storeCount(KernelBuilder &k, Value lane, Value count, Value counts,
                       ValueRange indices) {
  ImplicitLocOpBuilder &b = k.builder();
  k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, k.idx(0)),
           [&] { memref::StoreOp::create(b, count, counts, indices); });
}

void buildBlockListKernel(ImplicitLocOpBuilder &b, const TilePacking &packing,
                          Value logPrior, Value lists, Value counts,
                          Value tileBlocks) {
  KernelBuilder k(b);
  ArrayRef<int64_t> priorShape =
      cast<MemRefType>(logPrior.getType()).getShape();
  ArrayRef<int64_t> listShape = cast<MemRefType>(lists.getType()).getShape();
  int64_t seqLen = priorShape[2], numBlocks = priorShape[3];
  int64_t tokens = packing.tokensPerTile;

  auto launch =
      k.launch("dash_block_lists", {listShape[2], listShape[1], listShape[0]},
               kWarpSize, /*sharedBytes=*/0);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());

  Value lane = k.threadId();
  Value tile = k.blockId(gpu::Dimension::x);
  Value head = k.blockId(gpu::Dimension::y);
  Value batch = k.blockId(gpu::Dimension::z);
  Value rowBegin = k.mul(tile, tokens);
  Value rows = k.min(k.idx(tokens), k.sub(k.idx(seqLen), rowBegin));
  // Causality: candidates are the blocks up to the tile's diagonal one (a
  // tile's tokens lie in one block, as T divides 64).
  Value diagonal = k.div(rowBegin, kTileRows);
  Value candidates = k.add(diagonal, 1);
  Value chunks = k.add(k.div(diagonal, kWarpSize), 1);
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
        Value candidate = k.ult(block, candidates);
        Value flag = arith::AndIOp::create(b, selected, candidate);
        if (tileBlocks)
          k.ifThen(candidate, [&] {
            memref::StoreOp::create(
                b, arith::ExtUIOp::create(b, b.getI8Type(), flag), tileBlocks,
                ValueRange{batch, head, block, tile});
          });
        return {appendFlaggedLanes(k, lane, carried[0], flag, [&](Value slot) {
          memref::StoreOp::create(
              b, arith::IndexCastOp::create(b, b.getI32Type(), block), lists,
              ValueRange{batch, head, tile, slot});
        })};
      })[0];
  storeCount(k, lane, count, counts, {batch, head, tile});
  gpu::TerminatorOp::create(b);
}

void buildInverseBlockListKernel(ImplicitLocOpBuilder &b,
                                 const TilePacking &packing, Value tileBlocks,
                                 Value inverseLists, Value inverseCounts) {
  KernelBuilder k(b);
  ArrayRef<int64_t> shape = cast<MemRefType>(tileBlocks.getType()).getShape();
  int64_t tiles = shape[3];
  auto launch = k.launch("dash_inverse_block_lists",
                         {shape[2], shape[1], shape[0]}, kWarpSize,
                         /*sharedBytes=*/0);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());

  Value lane = k.threadId();
  Value block = k.blockId(gpu::Dimension::x);
  Value head = k.blockId(gpu::Dimension::y);
  Value batch = k.blockId(gpu::Dimension::z);
  // Tiles from the block's first one on (the earlier ones cannot see it).
  Value first = k.mul(block, kTileRows / packing.tokensPerTile);
  Value chunks =
      k.div(k.add(k.sub(k.idx(tiles), first), kWarpSize - 1), kWarpSize);
  Value count = k.forLoop(
      k.idx(0), chunks, {k.i32(0)},
      [&](Value chunk, ValueRange carried) -> SmallVector<Value> {
        Value tile = k.add(first, k.add(k.mul(chunk, kWarpSize), lane));
        Value inside = k.ult(tile, k.idx(tiles));
        Value flag = memref::LoadOp::create(
            b, tileBlocks,
            ValueRange{batch, head, block, k.min(tile, k.idx(tiles - 1))});
        Value selected = arith::AndIOp::create(
            b, inside,
            arith::CmpIOp::create(b, arith::CmpIPredicate::ne, flag,
                                  arith::ConstantIntOp::create(b, 0, 8)));
        return {
            appendFlaggedLanes(k, lane, carried[0], selected, [&](Value slot) {
              memref::StoreOp::create(
                  b, arith::IndexCastOp::create(b, b.getI32Type(), tile),
                  inverseLists, ValueRange{batch, head, block, slot});
            })};
      })[0];
  storeCount(k, lane, count, inverseCounts, {batch, head, block});
  gpu::TerminatorOp::create(b);
}

void buildFillKernel(ImplicitLocOpBuilder &b, Value buffer, double value) {
  KernelBuilder k(b);
  auto type = cast<MemRefType>(buffer.getType());
  int64_t elements = type.getNumElements();
  SmallVector<ReassociationIndices> all(1);
  for (int64_t d = 0; d < type.getRank(); ++d)
    all[0].push_back(d);
  Value flat = memref::CollapseShapeOp::create(b, buffer, all);
  constexpr int64_t kFillThreads = 256;
  int64_t ctas = llvm::divideCeilSigned(elements, kFillThreads);
  auto launch =
      k.launch("dash_fill", {ctas, 1, 1}, kFillThreads, /*sharedBytes=*/0);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  Value index =
      k.add(k.mul(k.blockId(gpu::Dimension::x), kFillThreads), k.threadId());
  k.ifThen(k.ult(index, k.idx(elements)), [&] {
    memref::StoreOp::create(b, k.f32(value), flat, ValueRange{index});
  });
  gpu::TerminatorOp::create(b);
}

} // namespace mlir::dash::nvgpu_kernels
