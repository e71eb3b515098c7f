//===- FineAttentionGradKernels.cpp - Tensor-core fine-attention backward -===//
//
// FlashAttention-2's backward with the log-prior (spec B1, B2), as a dQ and
// a dK/dV kernel over the selected blocks only (with warpgroup mma, dK and
// dV are two kernels, below):
// - dQ: one CTA per (batch, head chunk, tile) of TilePacking walks the
//   tile's block list, as the forward does; warp w owns rows 16w .. 16w + 15.
//   It also computes Delta = <dO, O> of its rows (kept for the dK/dV kernel)
//   and adds each row's sum of dS over a block to the bias gradient,
//   atomically since the G heads of a group share it.
// - dK/dV: one CTA per (batch, head chunk, key block, list segment) walks a
//   segment of the tiles that selected the block (the inverse lists); warp w
//   owns keys 16w .. 16w + 15 and works on S^T, so that P^T and dS^T are A
//   operands of dV += P^T dO and dK += dS^T Q (with mma.sync straight from
//   the accumulators). With one
//   chunk and one segment (every head of the group in the tile) the CTA
//   stores its keys' dK and dV; otherwise the CTAs of a key add them
//   atomically.
// Both recompute P from the forward's LSE and prefetch the next tile with
// cp.async while computing the current one. With warpgroup mma (sm_90a)
// the tiles are swizzled, the products are wgmma on shared-memory
// descriptors, and dS (or P^T, dS^T) goes through a swizzled 64 x 64 shared
// tile to be the A operand of dQ += dS K (dV += P^T dO, dK += dS^T Q); dV
// and dK are then two kernels, each holding one accumulator set, and the dV
// kernel fetches dO between steps (KeyValueGradEmitter::lateOutputGrad).
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "TileEmitter.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>
#include <tuple>

namespace mlir::dash::nvgpu_kernels {
namespace {

/// Keys (dQ) and queries (dK/dV) per step of the inner loops.
constexpr int64_t kKeyChunk = 32;
constexpr int64_t kQueryChunk = 32;

class GradEmitter : protected TileEmitter {
public:
  GradEmitter(ImplicitLocOpBuilder &b, const FineAttentionGradOperands &o,
              TileLayout layout)
      : TileEmitter(b, o.query, layout), o(o), packing(o.query, o.logPrior) {
    kvHeads = cast<MemRefType>(o.key.getType()).getDimSize(1);
    blocks = cast<MemRefType>(o.logPrior.getType()).getDimSize(3);
    kSteps = headDim / 16;
  }

protected:
  /// Bytes after the tiles that the staging tile of warpgroup mma takes.
  int64_t stagingBytes() const {
    return warpgroup() ? kTileRows * kTileRows * 2 : 0;
  }

  /// acc = A B^T for the 64 x D tile in `aSlot` and rows `first ..
  /// first + 8 acc.size()` of the 64 x D tile in `bSlot`: with mma.sync, or
  /// as a warpgroup mma product to issue.
  void productTransposed(Accumulators &acc, Value aSlot, Value bSlot,
                         int64_t first) {
    if (warpgroup()) {
      warpgroupMma({transposedProduct(acc, aSlot, bSlot, first)});
      return;
    }
    mmaTransposedB(
        acc, [&](int64_t s) { return aOperand(aSlot, s * 16); }, bSlot, first,
        kSteps);
  }
  WarpgroupProduct transposedProduct(Accumulators &acc, Value aSlot,
                                     Value bSlot, int64_t first) {
    Value aBytes = k.mul(aSlot, tileBytes);
    Value bBytes = k.mul(bSlot, tileBytes);
    WarpgroupProduct product{acc, {}};
    for (int64_t s = 0; s < kSteps; ++s)
      product.steps.push_back(
          {kMajorStep(aBytes, s), kMajorStep(bBytes, s, first)});
    return product;
  }

  /// The two products of a chunk of `size` columns from `first` on: of
  /// tile 0 (Q, or K) with the rows of `bSlot` (K, or Q), and of tile 1
  /// (dO, or V) with those of `bGradSlot` (V, or dO): S and dP (or their
  /// transposes). With `oneGroup`, warpgroup mma issues both before
  /// waiting. (Measured on an H200, ncu, N = 32K: one group made the dK
  /// kernel up to 8% faster and the dQ kernel 3-4% slower.)
  std::pair<Accumulators, Accumulators>
  chunkProducts(Value bSlot, Value bGradSlot, int64_t first, int64_t size,
                bool oneGroup) {
    Accumulators scores = zeros(size / 8), dProbs = zeros(size / 8);
    Value aSlot = k.idx(0), aGradSlot = k.idx(1);
    if (warpgroup() && oneGroup) {
      warpgroupMma({transposedProduct(scores, aSlot, bSlot, first),
                    transposedProduct(dProbs, aGradSlot, bGradSlot, first)});
    } else {
      productTransposed(scores, aSlot, bSlot, first);
      productTransposed(dProbs, aGradSlot, bGradSlot, first);
    }
    return {scores, dProbs};
  }

  /// Warpgroup mma: acc += A B for the accumulators `a` of a whole 64-key
  /// block (staged in shared memory after the tiles) and the 64 x D tile in
  /// `bSlot`. With `copies`, the barrier that publishes the staged tile
  /// also waits until at most `pending` copy groups are in flight.
  void addProductThroughStaging(Accumulators &acc, const Accumulators &a,
                                Value bSlot, Value copies = Value(),
                                int32_t pending = 0) {
    Value staging = k.idx(afterTiles());
    storeSwizzled(a, staging);
    if (copies) {
      waitAndSync(copies, pending);
    } else {
      k.asyncProxyFence();
      gpu::BarrierOp::create(b);
    }
    addStagedProduct(acc, staging, k.mul(bSlot, tileBytes));
  }

  /// p = exp2(s log2(e) scale + bias), or 0 where `masked`.
  Value probability(Value score, Value bias, Value masked) {
    Value p = math::Exp2Op::create(
        b, math::FmaOp::create(b, score, k.f32(o.scale * kLog2E), bias));
    return k.select(masked, k.f32(0.0), p);
  }
  /// dS = p (dp - delta).
  Value scoreGradient(Value probability, Value dProb, Value delta) {
    return k.fmul(probability, k.fsub(dProb, delta));
  }

  /// A row without any key has lse = -inf and only -inf priors: 0 in its
  /// place makes p = exp(-inf) = 0 where prior - lse would be NaN.
  Value finiteLse(Value lse) {
    return k.select(k.fcmp(arith::CmpFPredicate::OEQ, lse,
                           k.f32(-std::numeric_limits<double>::infinity())),
                    k.f32(0.0), lse);
  }

  const FineAttentionGradOperands &o;
  TilePacking packing;
  int64_t kvHeads, blocks, kSteps;
};

//===----------------------------------------------------------------------===//
// dQ, Delta and the bias gradient
//===----------------------------------------------------------------------===//

class QueryGradEmitter : GradEmitter {
public:
  QueryGradEmitter(ImplicitLocOpBuilder &b, const FineAttentionGradOperands &o)
      : GradEmitter(
            b, o, o.warpgroupMma ? TileLayout::Swizzled : TileLayout::Padded) {}
  void emit();

private:
  /// Delta of the tile's rows: two threads a row, into `deltas` (shared)
  /// and o.delta.
  void computeDeltas(const TileRows &tileRows, Value deltas);

  Value kvHead;
};

void QueryGradEmitter::computeDeltas(const TileRows &tileRows, Value deltas) {
  Value row = k.div(thread, 2), part = k.rem(thread, 2);
  Value head = headOf(tileRows, row), token = tokenOf(tileRows, row);
  Value inside = k.ult(token, k.idx(seqLen));
  Value clamped = k.min(token, k.idx(seqLen - 1));
  auto vectorType = VectorType::get({8}, element);
  auto wideType = VectorType::get({8}, b.getF32Type());
  Value sum = k.f32(0.0);
  int64_t half = headDim / 2;
  for (int64_t i = 0; i < half / 8; ++i) {
    Value column = k.add(k.mul(part, half), i * 8);
    auto load = [&](Value source) -> Value {
      Value v = vector::LoadOp::create(
          b, vectorType, source, ValueRange{batchIndex, head, clamped, column});
      return arith::ExtFOp::create(b, wideType, v);
    };
    Value product = k.fmul(load(o.output), load(o.outputGrad));
    sum = k.fadd(sum, vector::ReductionOp::create(b, vector::CombiningKind::ADD,
                                                  product));
  }
  sum = k.fadd(
      sum, gpu::ShuffleOp::create(b, sum, 1, kWarpSize, gpu::ShuffleMode::XOR)
               .getShuffleResult());
  sum = k.select(inside, sum, k.f32(0.0));
  k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, part, k.idx(0)),
           [&] {
             memref::StoreOp::create(b, sum, deltas, ValueRange{row});
             k.ifThen(inside, [&] {
               memref::StoreOp::create(b, sum, o.delta,
                                       ValueRange{batchIndex, head, token});
             });
           });
}

void QueryGradEmitter::emit() {
  OpBuilder::InsertionGuard guard(b);
  // Slots: Q, dO, K (2 buffers), V (2 buffers); then the staging tile of
  // warpgroup mma and Delta of the rows.
  beginKernel("dash_sparse_attention_grad_query",
              {packing.tiles, packing.chunks * kvHeads, batch},
              /*tiles=*/6, /*extraBytes=*/stagingBytes() + kTileRows * 4);
  Value queryTile = k.blockId(gpu::Dimension::x);
  TileRows tileRows =
      packedRows(packing, queryTile, k.blockId(gpu::Dimension::y), kvHead);
  Value numListed = listLength(o.counts, kvHead, queryTile);
  auto listedBlock = [&](Value position) {
    return listEntry(o.lists, kvHead, queryTile, position, blocks - 1);
  };
  auto copyBlock = [&](Value block, Value buffer,
                       SmallVectorImpl<Value> &tokens) {
    copyKeyValue(o.key, o.value, kvHead, block, tile(k.add(buffer, 2)),
                 tile(k.add(buffer, 4)), tokens);
  };

  SmallVector<Value> tokens;
  copyRows(o.query, tileRows, tile(0), tokens);
  copyRows(o.outputGrad, tileRows, tile(1), tokens);
  copyBlock(listedBlock(k.idx(0)), k.idx(0), tokens);
  Value pending = commit(tokens);
  Value deltas = sharedFloats(k.idx(stagingBytes()), kTileRows);
  computeDeltas(tileRows, deltas);
  waitAndSync(pending, 0);

  // The lane's two rows: their tokens (the causal bound) and heads.
  Value rows[2], rowHeads[2], deltaOf[2], lseLog2[2];
  for (int64_t r = 0; r < 2; ++r) {
    rows[r] = tokenOf(tileRows, laneRow[r]);
    rowHeads[r] = headOf(tileRows, laneRow[r]);
    deltaOf[r] = memref::LoadOp::create(b, deltas, ValueRange{laneRow[r]});
    Value lse = memref::LoadOp::create(
        b, o.lse,
        ValueRange{batchIndex, rowHeads[r], k.min(rows[r], k.idx(seqLen - 1))});
    lseLog2[r] = k.fmul(finiteLse(lse), k.f32(kLog2E));
  }
  Value negInf = k.f32(-std::numeric_limits<double>::infinity());

  SmallVector<Value> inits;
  flatten(zeros(headDim / 8), inits);
  ValueRange finals = k.forLoop(
      k.idx(0), numListed, inits,
      [&](Value position, ValueRange carried) -> SmallVector<Value> {
        Value buffer = k.rem(position, 2);
        Value next = k.add(position, 1);
        waitAndSync(commitIf(k.ult(next, numListed),
                             [&](SmallVectorImpl<Value> &t) {
                               copyBlock(listedBlock(next),
                                         k.sub(k.idx(1), buffer), t);
                             }),
                    1);
        Value block = listedBlock(position);
        Value keys = k.add(buffer, 2), values = k.add(buffer, 4);

        Value prior[2], bias[2], rowSum[2];
        for (int64_t r = 0; r < 2; ++r) {
          prior[r] = memref::LoadOp::create(
              b, o.logPrior,
              ValueRange{batchIndex, kvHead, k.min(rows[r], k.idx(seqLen - 1)),
                         block});
          bias[r] = k.fsub(k.fmul(prior[r], k.f32(kLog2E)), lseLog2[r]);
          rowSum[r] = k.f32(0.0);
        }
        Accumulators queryGrad = unflatten(carried);
        Value keyBase = k.add(k.mul(block, kTileRows), pairColumn);
        // With mma.sync, chunks of the block's keys bound the registers of
        // S and dP; warpgroup mma takes the whole block.
        int64_t keyChunk = warpgroup() ? kTileRows : kKeyChunk;
        for (int64_t chunk = 0; chunk < kTileRows / keyChunk; ++chunk) {
          int64_t first = chunk * keyChunk;
          // S = Q K^T and dP = dO V^T for the warp's 16 rows.
          Accumulators scores, dProbs;
          std::tie(scores, dProbs) =
              chunkProducts(keys, values, first, keyChunk, /*oneGroup=*/false);
          for (int64_t r = 0; r < 2; ++r)
            for (int64_t j = 0; j < keyChunk / 8; ++j)
              for (int64_t e = 0; e < 2; ++e) {
                Value masked = arith::CmpIOp::create(
                    b, arith::CmpIPredicate::ugt,
                    k.add(keyBase, first + j * 8 + e), rows[r]);
                Value &score = scores[j][2 * r + e];
                score = probability(score, bias[r], masked);
                dProbs[j][2 * r + e] =
                    scoreGradient(score, dProbs[j][2 * r + e], deltaOf[r]);
                rowSum[r] = k.fadd(rowSum[r], dProbs[j][2 * r + e]);
              }
          // dQ += dS K.
          if (warpgroup())
            addProductThroughStaging(queryGrad, dProbs, keys);
          else
            mmaB(
                queryGrad,
                [&](int64_t s) { return accumulatorsAsA(dProbs, s); }, keys,
                first, keyChunk / 16);
        }

        for (int64_t r = 0; r < 2; ++r) {
          Value sum = k.quadReduce(
              rowSum[r], [&](Value x, Value y) { return k.fadd(x, y); });
          // Blocks this row did not select get no gradient (and no atomic);
          // `une` lets a NaN prior through.
          Value selected = arith::AndIOp::create(
              b, k.fcmp(arith::CmpFPredicate::UNE, prior[r], negInf),
              arith::AndIOp::create(
                  b, k.ult(rows[r], k.idx(seqLen)),
                  arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                        k.rem(lane, 4), k.idx(0))));
          k.ifThen(selected, [&] {
            memref::AtomicRMWOp::create(
                b, arith::AtomicRMWKind::addf, sum, o.logPriorGrad,
                ValueRange{batchIndex, kvHead, rows[r], block});
          });
        }
        gpu::BarrierOp::create(b);
        SmallVector<Value> results;
        flatten(queryGrad, results);
        return results;
      });

  Accumulators queryGrad = unflatten(finals);
  for (int64_t r = 0; r < 2; ++r)
    k.ifThen(k.ult(rows[r], k.idx(seqLen)), [&] {
      storeRow(queryGrad, r, o.scale, o.queryGrad, rowHeads[r], rows[r]);
    });
  gpu::TerminatorOp::create(b);
}

//===----------------------------------------------------------------------===//
// dK and dV
//===----------------------------------------------------------------------===//

/// What one dK/dV kernel computes. With mma.sync, both gradients (four
/// products a tile). With warpgroup mma, one of them: both keep 128 f32
/// accumulators in runs of consecutive registers, which with S^T, dP^T and
/// the operand descriptors spill at 255 registers; apart, dV takes two
/// products a tile and dK three.
enum class KeyValueGrads { Both, Value, Key };

class KeyValueGradEmitter : GradEmitter {
public:
  KeyValueGradEmitter(ImplicitLocOpBuilder &b,
                      const FineAttentionGradOperands &o, KeyValueGrads grads)
      : GradEmitter(b, o,
                    grads == KeyValueGrads::Both ? TileLayout::Padded
                                                 : TileLayout::Swizzled),
        grads(grads) {
    assert((grads == KeyValueGrads::Both) != o.warpgroupMma &&
           "warpgroup mma computes dK and dV in separate kernels");
  }
  void emit();

private:
  bool computesKeyGrad() const { return grads != KeyValueGrads::Value; }
  bool computesValueGrad() const { return grads != KeyValueGrads::Key; }
  /// The dV kernel reads dO only in its last product: one dO buffer,
  /// refilled after each step, so that three CTAs fit an SM at D = 128
  /// (the others keep it with Q, in two buffers).
  bool lateOutputGrad() const { return grads == KeyValueGrads::Value; }
  /// Slots: K, then V where dK needs it (dP^T = V dO^T), then Q in two
  /// buffers, then dO in two buffers or one.
  int64_t querySlot() const { return computesKeyGrad() ? 2 : 1; }
  Value outputGradSlot(Value buffer) {
    Value first = k.idx(querySlot() + 2);
    return lateOutputGrad() ? first : k.add(first, buffer);
  }
  int64_t slotCount() const { return querySlot() + (lateOutputGrad() ? 3 : 4); }
  /// Shared f32 arrays of buffer `buffer`: 0 the log-prior of the tile's
  /// rows for this block, 1 their LSE and, for dK, 2 their Delta. One entry
  /// a thread (128), of which the first 64 are the rows.
  int64_t rowArrays() const { return computesKeyGrad() ? 3 : 2; }
  Value rowArray(Value buffer, int64_t which) {
    return sharedFloats(
        k.add(k.mul(k.add(k.mul(buffer, rowArrays()), which), kThreads * 4),
              stagingBytes()),
        kThreads);
  }
  /// The rows of the tile at `position` of the block's inverse list.
  TileRows queryRowsAt(Value position) {
    Value queryTile =
        listEntry(o.inverseLists, kvHead, block, position, packing.tiles - 1);
    return {headBase, k.mul(queryTile, packing.tokensPerTile),
            packing.tokensPerTile};
  }
  void copyIteration(Value position, Value buffer,
                     SmallVectorImpl<Value> &tokens);
  void copyOutputGrad(Value position, Value buffer,
                      SmallVectorImpl<Value> &tokens) {
    copyRows(o.outputGrad, queryRowsAt(position), tile(outputGradSlot(buffer)),
             tokens);
  }
  /// The CTA's work: K (and V) of the block, then its segment of the list.
  void emitSegment(Value begin, Value end);
  /// acc += A B over the `size` queries from `first` on: A the
  /// accumulators `a` (keys x those queries), B the rows of the 64 x D
  /// tile in `bSlot`.
  void addProduct(Accumulators &acc, const Accumulators &a, Value bSlot,
                  int64_t first, int64_t size, Value copies = Value(),
                  int32_t pending = 0);
  /// Stores or adds (TilePacking::keyValueGradAdds) the lane's row `r` of
  /// `acc` times `factor` to `dst[batch, kvHead, row, :]`.
  void writeRow(const Accumulators &acc, int64_t r, double factor, Value dst,
                Value row);

  KeyValueGrads grads;
  Value headBase, kvHead, block;
};

void KeyValueGradEmitter::addProduct(Accumulators &acc, const Accumulators &a,
                                     Value bSlot, int64_t first, int64_t size,
                                     Value copies, int32_t pending) {
  if (warpgroup()) {
    assert(first == 0 && size == kTileRows && "warpgroup mma takes the tile");
    addProductThroughStaging(acc, a, bSlot, copies, pending);
    return;
  }
  mmaB(
      acc, [&](int64_t s) { return accumulatorsAsA(a, s); }, bSlot, first,
      size / 16);
}

void KeyValueGradEmitter::writeRow(const Accumulators &acc, int64_t r,
                                   double factor, Value dst, Value row) {
  if (!packing.keyValueGradAdds()) {
    storeRow(acc, r, factor, dst, kvHead, row);
    return;
  }
  addRow(acc, r, factor, dst, kvHead, row);
}

void KeyValueGradEmitter::copyIteration(Value position, Value buffer,
                                        SmallVectorImpl<Value> &tokens) {
  TileRows queryRows = queryRowsAt(position);
  copyRows(o.query, queryRows, tile(k.add(buffer, querySlot())), tokens);
  if (!lateOutputGrad())
    copyOutputGrad(position, buffer, tokens);
  Value row = k.rem(thread, kTileRows);
  Value token = tokenOf(queryRows, row), head = headOf(queryRows, row);
  Value inside = arith::AndIOp::create(b, k.ult(thread, k.idx(kTileRows)),
                                       k.ult(token, k.idx(seqLen)));
  Value clamped = k.min(token, k.idx(seqLen - 1));
  copyFloat(o.logPrior, {batchIndex, kvHead, clamped, block}, inside,
            rowArray(buffer, 0), thread, tokens);
  copyFloat(o.lse, {batchIndex, head, clamped}, inside, rowArray(buffer, 1),
            thread, tokens);
  if (computesKeyGrad())
    copyFloat(o.delta, {batchIndex, head, clamped}, inside, rowArray(buffer, 2),
              thread, tokens);
}

void KeyValueGradEmitter::emit() {
  OpBuilder::InsertionGuard guard(b);
  StringRef name =
      grads == KeyValueGrads::Both  ? "dash_sparse_attention_grad_key_value"
      : grads == KeyValueGrads::Key ? "dash_sparse_attention_grad_key"
                                    : "dash_sparse_attention_grad_value";
  // The tiles, the staging tile of warpgroup mma, the row arrays.
  beginKernel(name,
              {blocks * packing.segments, packing.chunks * kvHeads, batch},
              slotCount(),
              /*extraBytes=*/stagingBytes() + 2 * rowArrays() * kThreads * 4,
              /*minCtasPerSM=*/lateOutputGrad() ? 3 : 0);
  Value blockSegment = k.blockId(gpu::Dimension::x);
  block = k.div(blockSegment, packing.segments);
  headBase = packedRows(packing, k.idx(0), k.blockId(gpu::Dimension::y), kvHead)
                 .headBase;
  Value numListed = listLength(o.inverseCounts, kvHead, block);
  if (!packing.keyValueGradAdds()) {
    // The only CTA of its keys: it stores their gradients, zero or not.
    emitSegment(k.idx(0), numListed);
  } else {
    Value begin =
        k.mul(k.rem(blockSegment, packing.segments), packing.segmentLength);
    k.ifThen(k.ult(begin, numListed), [&] {
      emitSegment(begin, k.min(k.add(begin, packing.segmentLength), numListed));
    });
  }
  gpu::TerminatorOp::create(b);
}

void KeyValueGradEmitter::emitSegment(Value begin, Value end) {
  Value keyBegin = k.mul(block, kTileRows);
  SmallVector<Value> tokens;
  if (computesKeyGrad())
    copyKeyValue(o.key, o.value, kvHead, block, tile(0), tile(1), tokens);
  else
    copyRows(o.key, {kvHead, keyBegin}, tile(0), tokens);
  copyIteration(begin, k.idx(0), tokens);
  if (lateOutputGrad())
    copyOutputGrad(begin, k.idx(0), tokens);
  waitAndSync(commit(tokens), 0);

  Value keyRows[2] = {k.add(keyBegin, laneRow[0]), k.add(keyBegin, laneRow[1])};
  // Loop-carried: dK, then dV, each of the ones computed.
  int64_t gradCount = computesKeyGrad() + computesValueGrad();
  auto gradSums = [&](ValueRange values) {
    int64_t perGrad = 4 * (headDim / 8);
    SmallVector<Accumulators, 2> sums;
    for (int64_t g = 0; g < gradCount; ++g)
      sums.push_back(unflatten(values.slice(g * perGrad, perGrad)));
    return sums;
  };
  // With mma.sync, chunks of the tile's queries bound the registers of S^T
  // and dP^T; warpgroup mma takes the whole tile.
  int64_t queryChunk = warpgroup() ? kTileRows : kQueryChunk;

  SmallVector<Value> inits;
  flatten(zeros(gradCount * headDim / 8), inits);
  ValueRange finals = k.forLoop(
      begin, end, inits,
      [&](Value iteration, ValueRange carried) -> SmallVector<Value> {
        Value buffer = k.rem(k.sub(iteration, begin), 2);
        Value next = k.add(iteration, 1);
        Value hasNext = k.ult(next, end);
        // With a late dO, this step's dO (committed at the end of the last
        // step) may stay in flight too.
        Value copies = commitIf(hasNext, [&](SmallVectorImpl<Value> &t) {
          copyIteration(next, k.sub(k.idx(1), buffer), t);
        });
        waitAndSync(copies, lateOutputGrad() ? 2 : 1);
        TileRows queryRows = queryRowsAt(iteration);
        Value queries = k.add(buffer, querySlot()),
              outputGrads = outputGradSlot(buffer);
        Value priors = rowArray(buffer, 0), lses = rowArray(buffer, 1);
        Value deltas = computesKeyGrad() ? rowArray(buffer, 2) : Value();
        SmallVector<Accumulators, 2> sums = gradSums(carried);
        Accumulators &keyGrad = sums.front(), &valueGrad = sums.back();

        for (int64_t chunk = 0; chunk < kTileRows / queryChunk; ++chunk) {
          int64_t first = chunk * queryChunk;
          // S^T = K Q^T and, for dK, dP^T = V dO^T.
          Accumulators scores, dProbs;
          if (computesKeyGrad()) {
            std::tie(scores, dProbs) =
                chunkProducts(queries, outputGrads, first, queryChunk,
                              /*oneGroup=*/true);
          } else {
            scores = zeros(queryChunk / 8);
            productTransposed(scores, /*aSlot=*/k.idx(0), queries, first);
          }
          for (int64_t j = 0; j < queryChunk / 8; ++j)
            for (int64_t e = 0; e < 2; ++e) {
              Value column = k.add(pairColumn, first + j * 8 + e);
              Value query = tokenOf(queryRows, column);
              Value prior =
                  memref::LoadOp::create(b, priors, ValueRange{column});
              Value lse = finiteLse(
                  memref::LoadOp::create(b, lses, ValueRange{column}));
              Value bias = k.fmul(k.fsub(prior, lse), k.f32(kLog2E));
              Value outside = arith::CmpIOp::create(
                  b, arith::CmpIPredicate::uge, query, k.idx(seqLen));
              Value delta;
              if (computesKeyGrad())
                delta = memref::LoadOp::create(b, deltas, ValueRange{column});
              for (int64_t r = 0; r < 2; ++r) {
                Value masked =
                    arith::OrIOp::create(b, outside, k.ult(query, keyRows[r]));
                Value &score = scores[j][2 * r + e];
                score = probability(score, bias, masked);
                if (computesKeyGrad())
                  dProbs[j][2 * r + e] =
                      scoreGradient(score, dProbs[j][2 * r + e], delta);
              }
            }
          // dV += P^T dO and dK += dS^T Q over these queries; a late dO
          // has arrived once only the next step's copies are in flight.
          if (computesValueGrad())
            addProduct(valueGrad, scores, outputGrads, first, queryChunk,
                       lateOutputGrad() ? copies : Value(), /*pending=*/1);
          if (computesKeyGrad())
            addProduct(keyGrad, dProbs, queries, first, queryChunk);
        }
        gpu::BarrierOp::create(b);
        if (lateOutputGrad())
          commitIf(hasNext, [&](SmallVectorImpl<Value> &t) {
            copyOutputGrad(next, buffer, t);
          });
        SmallVector<Value> results;
        for (const Accumulators &sum : sums)
          flatten(sum, results);
        return results;
      });

  SmallVector<Accumulators, 2> sums = gradSums(finals);
  for (int64_t r = 0; r < 2; ++r)
    k.ifThen(k.ult(keyRows[r], k.idx(seqLen)), [&] {
      if (computesKeyGrad())
        writeRow(sums.front(), r, o.scale, o.keyGrad, keyRows[r]);
      if (computesValueGrad())
        writeRow(sums.back(), r, 1.0, o.valueGrad, keyRows[r]);
    });
}

} // namespace

void buildQueryGradKernel(ImplicitLocOpBuilder &b,
                          const FineAttentionGradOperands &operands) {
  QueryGradEmitter(b, operands).emit();
}

void buildKeyValueGradKernel(ImplicitLocOpBuilder &b,
                             const FineAttentionGradOperands &operands) {
  if (!operands.warpgroupMma) {
    KeyValueGradEmitter(b, operands, KeyValueGrads::Both).emit();
    return;
  }
  KeyValueGradEmitter(b, operands, KeyValueGrads::Value).emit();
  KeyValueGradEmitter(b, operands, KeyValueGrads::Key).emit();
}

} // namespace mlir::dash::nvgpu_kernels
