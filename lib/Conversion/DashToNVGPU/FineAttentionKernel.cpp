//===- FineAttentionKernel.cpp - Tensor-core block-sparse attention -------===//
//
// FlashAttention-2 structure over the selected blocks only. One CTA of four
// warps (one warpgroup) per (batch, head chunk, tile) of TilePacking: 64
// rows of P heads times T tokens that share one block list and one K/V load
// per block. Warp w owns rows 16w .. 16w + 15 of the tile; while block i is
// computed, block i + 1 of the list is in flight (cp.async). Two ways to
// multiply, with the same accumulator layout and so the same softmax:
// - mma.sync (sm_80 on): padded tiles read by ldmatrix, two buffers each for
//   K and V, the second K buffer holding the Q tile until Q is in
//   registers, P from the scores to the P V product in registers
//   (TileEmitter.h). At 4 tiles (68 KiB for D = 128) three CTAs fit an sm_90
//   SM (two an sm_80 one), and the kernel asks ptxas for registers to match
//   (dash-kernel-occupancy).
// - warpgroup mma (sm_90a): swizzled tiles that wgmma reads from shared
//   memory through descriptors: Q, a ring of three slots for K and V, and
//   P, which each thread writes there from its scores before P V. P V is
//   not waited for in its step: it runs on while the next step waits for
//   its K and issues S, and one wait covers both. Then the next block's K
//   goes to the slot of the previous V and its V to this block's K slot.
//   At 73 KiB for D = 128 three CTAs fit an SM.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "TileEmitter.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

namespace mlir::dash::nvgpu_kernels {
namespace {

/// Resident CTAs per SM the kernel is built for (its shared memory allows
/// three at D = 128).
constexpr int64_t kFineAttentionCtasPerSM = 3;

class FineAttentionEmitter : TileEmitter {
public:
  FineAttentionEmitter(ImplicitLocOpBuilder &b, const FineAttentionOperands &o)
      : TileEmitter(b, o.query,
                    o.warpgroupMma ? TileLayout::Swizzled : TileLayout::Padded),
        o(o), packing(o.query, o.logPrior) {}

  void emit();

private:
  /// Where the loop's block and the next one lie.
  struct Stage {
    Value keySlot, valueSlot, next, hasNext;
    /// Warpgroup mma: the ring slot of the previous block's V.
    Value freeSlot;
  };
  /// Waits until the K of the block at `position` (with mma.sync, also its
  /// V) is in shared memory; with mma.sync, first starts the copies of the
  /// next block.
  Stage beginStage(Value position);
  /// Warpgroup mma, once S is computed: starts the copies of the next
  /// block's K and V into the slots of the previous V and of this K.
  void prefetchNext(const Stage &stage);
  /// S = Q K^T of the warp's 16 rows and the 64 keys of the stage.
  Accumulators scores(const Stage &stage);
  /// out += P V of the stage's values, P (f32) in the layout of S.
  void addProbabilityValues(Accumulators &out, const Accumulators &p,
                            const Stage &stage);
  Value listedBlock(Value position) {
    return listEntry(o.lists, kvHead, queryTile, position, blocks - 1);
  }
  TileRows blockRows(Value block) { return {kvHead, k.mul(block, kTileRows)}; }

  const FineAttentionOperands &o;
  TilePacking packing;
  /// mma.sync: K in slots 0, 1 (Q staged in 1), V in 2, 3. Warpgroup mma:
  /// Q in 0, then a ring of three slots (1 to 3) for the K and V of the
  /// current block and one more, then P.
  int64_t querySlot;
  int64_t blocks;
  Value kvHead, queryTile, numListed;
  /// Warpgroup mma: the token of the prologue's last copy group.
  Value prologue;
  SmallVector<SmallVector<Value>> queryFragments;
};

FineAttentionEmitter::Stage FineAttentionEmitter::beginStage(Value position) {
  Stage stage;
  stage.next = k.add(position, 1);
  stage.hasNext = k.ult(stage.next, numListed);
  if (!warpgroup()) {
    Value buffer = k.rem(position, 2);
    Value nextBuffer = k.sub(k.idx(1), buffer);
    Value pending = commitIf(stage.hasNext, [&](SmallVectorImpl<Value> &t) {
      copyKeyValue(o.key, o.value, kvHead, listedBlock(stage.next),
                   tile(nextBuffer), tile(k.add(nextBuffer, 2)), t);
    });
    waitAndSync(pending, 1);
    stage.keySlot = buffer;
    stage.valueSlot = k.add(buffer, 2);
    return stage;
  }
  // Block i's K is in ring slot (-i) mod 3, its V in the slot after, and
  // the previous block's V in the third (prefetchNext).
  Value ringSlot = k.rem(k.sub(k.idx(3), k.rem(position, 3)), 3);
  auto slot = [&](int64_t offset) {
    return k.add(k.rem(k.add(ringSlot, offset), 3), 1);
  };
  stage.keySlot = slot(0);
  stage.valueSlot = slot(1);
  stage.freeSlot = slot(2);
  // This block's K and V are the two latest copy groups: only V may stay
  // in flight. (The waits count groups; the prologue's token is only their
  // operand.)
  waitAndSync(prologue, 1);
  return stage;
}

void FineAttentionEmitter::prefetchNext(const Stage &stage) {
  // S's wait also covered the previous step's P V: after this barrier no
  // warp reads this block's K, the previous V or P any more.
  gpu::BarrierOp::create(b);
  auto copy = [&](Value source, Value slot) {
    commitIf(stage.hasNext, [&](SmallVectorImpl<Value> &t) {
      copyRows(source, blockRows(listedBlock(stage.next)), tile(slot), t);
    });
  };
  copy(o.key, stage.freeSlot);
  copy(o.value, stage.keySlot);
}

Accumulators FineAttentionEmitter::scores(const Stage &stage) {
  int64_t kSteps = headDim / 16;
  Accumulators acc = zeros(8);
  if (!warpgroup()) {
    mmaTransposedB(
        acc, [&](int64_t s) { return queryFragments[s]; }, stage.keySlot,
        /*nBase=*/0, kSteps);
    return acc;
  }
  Value queryBytes = k.idx(querySlot * tileBytes);
  Value keyBytes = k.mul(stage.keySlot, tileBytes);
  SmallVector<KernelBuilder::WarpgroupOperands> steps;
  for (int64_t s = 0; s < kSteps; ++s)
    steps.push_back({kMajorStep(queryBytes, s), kMajorStep(keyBytes, s)});
  warpgroupMma(acc, steps, /*bMnMajor=*/false, /*accumulate=*/false);
  return acc;
}

void FineAttentionEmitter::addProbabilityValues(Accumulators &out,
                                                const Accumulators &p,
                                                const Stage &stage) {
  if (!warpgroup()) {
    mmaB(
        out, [&](int64_t s) { return accumulatorsAsA(p, s); }, stage.valueSlot,
        /*kBase=*/0, /*kSteps=*/4);
    return;
  }
  // P into its swizzled [64][64] tile; the barrier that publishes it also
  // publishes this block's V (only the next block's K and V may stay in
  // flight). P V is waited for with the next step's S.
  Value probabilityBytes = k.idx(afterTiles());
  storeSwizzled(p, probabilityBytes);
  waitAndSync(prologue, 2);
  addStagedProduct(out, probabilityBytes, k.mul(stage.valueSlot, tileBytes),
                   /*wait=*/false);
}

void FineAttentionEmitter::emit() {
  auto priorType = cast<MemRefType>(o.logPrior.getType());
  int64_t kvHeads = priorType.getDimSize(1);
  blocks = priorType.getDimSize(3);
  OpBuilder::InsertionGuard guard(b);
  querySlot = warpgroup() ? 0 : 1;
  beginKernel("dash_sparse_attention",
              {packing.tiles, packing.chunks * kvHeads, batch},
              /*tiles=*/4,
              /*extraBytes=*/warpgroup() ? kTileRows * kTileRows * 2 : 0,
              kFineAttentionCtasPerSM);
  queryTile = k.blockId(gpu::Dimension::x);
  TileRows tileRows =
      packedRows(packing, queryTile, k.blockId(gpu::Dimension::y), kvHead);
  numListed = listLength(o.counts, kvHead, queryTile);

  // Prologue: Q and the first listed block. With mma.sync, Q then goes
  // into registers; the barrier keeps the first prefetch from overwriting
  // Q (in K buffer 1) before every warp has read it. With warpgroup mma,
  // Q with the first K and the first V are two copy groups that the loop
  // waits for.
  SmallVector<Value> tokens;
  Value firstBlock = listedBlock(k.idx(0));
  copyRows(o.query, tileRows, tile(querySlot), tokens);
  copyRows(o.key, blockRows(firstBlock), tile(warpgroup() ? 1 : 0), tokens);
  if (warpgroup()) {
    commit(tokens);
    tokens.clear();
    copyRows(o.value, blockRows(firstBlock), tile(2), tokens);
    prologue = commit(tokens);
  } else {
    copyRows(o.value, blockRows(firstBlock), tile(2), tokens);
    waitAndSync(commit(tokens), 0);
    for (int64_t s = 0; s < headDim / 16; ++s)
      queryFragments.push_back(aOperand(k.idx(querySlot), s * 16));
    gpu::BarrierOp::create(b);
  }

  // The lane's two rows: their tokens (the causal bound) and heads.
  Value rows[2], rowHeads[2];
  for (int64_t r = 0; r < 2; ++r) {
    rows[r] = tokenOf(tileRows, laneRow[r]);
    rowHeads[r] = headOf(tileRows, laneRow[r]);
  }
  Value zero = k.f32(0.0);
  Value negInf = k.f32(-std::numeric_limits<double>::infinity());
  Value scoreScale = k.f32(o.scale * kLog2E), priorScale = k.f32(kLog2E);
  int64_t outTiles = headDim / 8;

  // Carried: running max (base 2) and sum for both rows, then the O
  // accumulators, 4 per 8-column tile.
  SmallVector<Value> inits = {negInf, negInf, zero, zero};
  inits.append(outTiles * 4, zero);
  ValueRange finals = k.forLoop(
      k.idx(0), numListed, inits,
      [&](Value position, ValueRange carried) -> SmallVector<Value> {
        Stage stage = beginStage(position);
        Value block = listedBlock(position);
        Accumulators scores = this->scores(stage);
        if (warpgroup())
          prefetchNext(stage);

        // Keys after a row's token are masked; only a block that reaches
        // past the tile's first token can hold such keys.
        Value blockStart = k.mul(block, kTileRows);
        Value keyBase = k.add(blockStart, pairColumn);
        Value reachesPastTile =
            k.ult(tileRows.tokenBase, k.add(blockStart, kTileRows - 1));
        SmallVector<Value> raw;
        flatten(scores, raw);
        SmallVector<Type> rawTypes(raw.size(), b.getF32Type());
        scores = unflatten(k.ifThenElse(
            reachesPastTile, rawTypes,
            [&]() -> SmallVector<Value> {
              Accumulators masked = scores;
              for (int64_t j = 0; j < 8; ++j)
                for (int64_t i = 0; i < 4; ++i) {
                  Value key = k.add(keyBase, j * 8 + i % 2);
                  Value after = arith::CmpIOp::create(
                      b, arith::CmpIPredicate::ugt, key, rows[i / 2]);
                  masked[j][i] = k.select(after, negInf, scores[j][i]);
                }
              SmallVector<Value> values;
              flatten(masked, values);
              return values;
            },
            [&]() -> SmallVector<Value> { return raw; }));

        // Scores in base 2 with the log-prior: since the scale is positive
        // and the prior is the same along a row, the row's maximum is that
        // of the raw scores, scaled, and each probability one FMA and ex2.
        SmallVector<Value> results;
        SmallVector<Value> correction;
        for (int64_t r = 0; r < 2; ++r) {
          Value prior = memref::LoadOp::create(
              b, o.logPrior,
              ValueRange{batchIndex, kvHead, k.min(rows[r], k.idx(seqLen - 1)),
                         block});
          Value bias = k.fmul(prior, priorScale);
          Value rawMax = negInf;
          for (int64_t j = 0; j < 8; ++j)
            for (int64_t e = 0; e < 2; ++e)
              rawMax = k.fmax(rawMax, scores[j][2 * r + e]);
          rawMax = k.quadReduce(rawMax,
                                [&](Value x, Value y) { return k.fmax(x, y); });
          Value rowMax = math::FmaOp::create(b, rawMax, scoreScale, bias);
          Value runningMax = k.fmax(carried[r], rowMax);
          // All scores so far -inf: subtract 0 rather than produce NaN.
          Value base =
              k.select(arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                             runningMax, negInf),
                       zero, runningMax);
          Value shift = k.fsub(bias, base);
          for (int64_t j = 0; j < 8; ++j)
            for (int64_t e = 0; e < 2; ++e) {
              Value &score = scores[j][2 * r + e];
              score = math::Exp2Op::create(
                  b, math::FmaOp::create(b, score, scoreScale, shift));
            }
          correction.push_back(
              math::Exp2Op::create(b, k.fsub(carried[r], base)));
          results.push_back(runningMax);
        }
        for (int64_t r = 0; r < 2; ++r) {
          Value sum = k.fmul(carried[2 + r], correction[r]);
          for (int64_t j = 0; j < 8; ++j)
            for (int64_t e = 0; e < 2; ++e)
              sum = k.fadd(sum, scores[j][2 * r + e]);
          results.push_back(sum);
        }

        // O = O * correction + P V.
        Accumulators out(outTiles);
        for (int64_t j = 0; j < outTiles; ++j)
          for (int64_t i = 0; i < 4; ++i)
            out[j].push_back(k.fmul(carried[4 + 4 * j + i], correction[i / 2]));
        addProbabilityValues(out, scores, stage);
        flatten(out, results);
        // Every warp is done with this block's slots before they are
        // refilled (with warpgroup mma, the next step's prefetchNext).
        if (!warpgroup())
          gpu::BarrierOp::create(b);
        return results;
      });
  if (warpgroup()) {
    // The last P V; an empty list leaves the prologue's copies in flight.
    k.warpgroupWait(0);
    nvgpu::DeviceAsyncWaitOp::create(b, prologue, b.getI32IntegerAttr(0));
  }

  // Epilogue: normalise, write O and the LSE of the rows inside N.
  for (int64_t r = 0; r < 2; ++r) {
    Value sum = k.quadReduce(finals[2 + r],
                             [&](Value x, Value y) { return k.fadd(x, y); });
    // A row that saw no key keeps O = 0 and lse = -inf; a NaN sum stays NaN.
    Value empty =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, sum, zero);
    Value inverse =
        k.select(empty, zero, arith::DivFOp::create(b, k.f32(1.0), sum));
    Value lse =
        k.fmul(k.fadd(finals[r], math::Log2Op::create(b, sum)), k.f32(kLn2));
    k.ifThen(k.ult(rows[r], k.idx(seqLen)), [&] {
      for (int64_t j = 0; j < outTiles; ++j) {
        Value pair = vector::FromElementsOp::create(
            b, VectorType::get({2}, element),
            ValueRange{
                arith::TruncFOp::create(
                    b, element, k.fmul(finals[4 + 4 * j + 2 * r], inverse)),
                arith::TruncFOp::create(
                    b, element,
                    k.fmul(finals[4 + 4 * j + 2 * r + 1], inverse))});
        vector::StoreOp::create(b, pair, o.output,
                                ValueRange{batchIndex, rowHeads[r], rows[r],
                                           k.add(pairColumn, j * 8)});
      }
      k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                     k.rem(lane, 4), k.idx(0)),
               [&] {
                 memref::StoreOp::create(
                     b, lse, o.lse,
                     ValueRange{batchIndex, rowHeads[r], rows[r]});
               });
    });
  }
  gpu::TerminatorOp::create(b);
}

} // namespace

void buildFineAttentionKernel(ImplicitLocOpBuilder &b,
                              const FineAttentionOperands &operands) {
  FineAttentionEmitter(b, operands).emit();
}

} // namespace mlir::dash::nvgpu_kernels
