//===- FineAttentionKernel.cpp - Tensor-core block-sparse attention -------===//
//
// FlashAttention-2 structure over the selected blocks only. One CTA of four
// warps per (batch, query head, 64-query tile); warp w owns query rows
// 16w .. 16w + 15 of the tile. Fragment layouts are those of PTX's
// mma.m16n8k16: lane l holds accumulator rows l/4 and l/4 + 8, columns
// 2 (l % 4) and 2 (l % 4) + 1 of each 8-column tile, which is also the
// layout of the A operand, so P goes from the scores to the P V product
// without touching shared memory.
//
// Shared memory: the Q tile and two buffers each for K and V, rows padded by
// 8 elements so that the 8 rows an ldmatrix reads fall in distinct banks.
// While block i is computed, block i + 1 of the list is in flight (cp.async).
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "Kernels.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

namespace mlir::dash::nvgpu_kernels {
namespace {

constexpr double kLog2E = 1.4426950408889634;
constexpr double kLn2 = 0.6931471805599453;
/// Elements per 16-byte cp.async.
constexpr int64_t kChunk = 8;

class FineAttentionEmitter : QueryShape {
public:
  FineAttentionEmitter(ImplicitLocOpBuilder &b, const FineAttentionOperands &o)
      : QueryShape(o.query), b(b), k(b), o(o) {
    group = heads / cast<MemRefType>(o.key.getType()).getDimSize(1);
    rowStride = headDim + kChunk;
    tileBytes = kTileRows * rowStride * 2;
  }

  void emit();

private:
  /// Shared-memory tile `slot`: 0 is Q, 1 + buffer is K, 3 + buffer is V.
  Value tile(Value slot) {
    auto type =
        MemRefType::get({kTileRows, rowStride}, element, AffineMap(),
                        gpu::AddressSpaceAttr::get(
                            b.getContext(), gpu::AddressSpace::Workgroup));
    return memref::ViewOp::create(b, type, shared, k.mul(slot, tileBytes),
                                  ValueRange());
  }
  /// cp.async of the 64 x D rows `rowBase ..` of `source[batch, head]` into
  /// `tile`; rows past N are zero-filled (and never read from global memory).
  void copyRows(Value source, Value head, Value rowBase, Value tile,
                SmallVectorImpl<Value> &tokens);
  void copyKeyValueBlock(Value block, Value buffer,
                         SmallVectorImpl<Value> &tokens);
  Value commit(ValueRange tokens) {
    return nvgpu::DeviceAsyncCreateGroupOp::create(
        b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), tokens);
  }
  /// The i32 registers of an ldmatrix.x4 from `tile` at lane-dependent
  /// (row, column).
  SmallVector<Value> loadMatrices(Value tile, Value row, Value column,
                                  bool transpose) {
    Value pairs = nvgpu::LdMatrixOp::create(b, VectorType::get({4, 2}, element),
                                            tile, ValueRange{row, column},
                                            transpose, /*numTiles=*/4);
    return k.registers(pairs);
  }

  ImplicitLocOpBuilder &b;
  KernelBuilder k;
  const FineAttentionOperands &o;
  int64_t group, rowStride, tileBytes;

  // Values of the kernel body.
  Value thread, lane, warp, queryTile, head, kvHead, batchIndex, shared;
};

void FineAttentionEmitter::copyRows(Value source, Value headIndex,
                                    Value rowBase, Value dst,
                                    SmallVectorImpl<Value> &tokens) {
  int64_t chunksPerRow = headDim / kChunk;
  Value lastRow = k.idx(seqLen - 1);
  for (int64_t i = 0; i < kTileRows * chunksPerRow / kThreads; ++i) {
    Value chunk = k.add(thread, i * kThreads);
    Value row = k.div(chunk, chunksPerRow);
    Value column = k.mul(k.rem(chunk, chunksPerRow), kChunk);
    Value globalRow = k.add(rowBase, row);
    Value inside = k.ult(globalRow, k.idx(seqLen));
    Value count = k.select(inside, k.idx(kChunk), k.idx(0));
    tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
        b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), dst,
        ValueRange{row, column}, source,
        ValueRange{batchIndex, headIndex, k.min(globalRow, lastRow), column},
        b.getIndexAttr(kChunk), count, b.getUnitAttr()));
  }
}

void FineAttentionEmitter::copyKeyValueBlock(Value block, Value buffer,
                                             SmallVectorImpl<Value> &tokens) {
  Value rowBase = k.mul(block, kTileRows);
  copyRows(o.key, kvHead, rowBase, tile(k.add(buffer, 1)), tokens);
  copyRows(o.value, kvHead, rowBase, tile(k.add(buffer, 3)), tokens);
}

void FineAttentionEmitter::emit() {
  int64_t tiles = llvm::divideCeil(seqLen, kTileRows);
  int64_t sharedBytes = 5 * tileBytes;
  auto launch = k.launch("dash_sparse_attention", {tiles, heads, batch},
                         kThreads, sharedBytes);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());

  thread = k.threadId();
  lane = k.rem(thread, kWarpSize);
  warp = k.div(thread, kWarpSize);
  queryTile = k.blockId(gpu::Dimension::x);
  head = k.blockId(gpu::Dimension::y);
  batchIndex = k.blockId(gpu::Dimension::z);
  kvHead = k.div(head, group);
  shared = gpu::DynamicSharedMemoryOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), AffineMap(),
                         gpu::AddressSpaceAttr::get(
                             b.getContext(), gpu::AddressSpace::Workgroup)));

  Value rowBegin = k.mul(queryTile, kTileRows);
  Value numListed = arith::IndexCastOp::create(
      b, b.getIndexType(),
      memref::LoadOp::create(b, o.counts,
                             ValueRange{batchIndex, kvHead, queryTile}));
  // Unused list entries are not initialised: clamp what is read.
  Value lastBlock = k.idx(tiles - 1);
  auto listedBlock = [&](Value position) {
    Value entry = memref::LoadOp::create(
        b, o.lists, ValueRange{batchIndex, kvHead, queryTile, position});
    return k.min(arith::IndexCastOp::create(b, b.getIndexType(), entry),
                 lastBlock);
  };

  // Prologue: Q and the first listed block, then Q into registers.
  SmallVector<Value> tokens;
  copyRows(o.query, head, rowBegin, tile(k.idx(0)), tokens);
  copyKeyValueBlock(listedBlock(k.idx(0)), k.idx(0), tokens);
  nvgpu::DeviceAsyncWaitOp::create(b, commit(tokens), b.getI32IntegerAttr(0));
  gpu::BarrierOp::create(b);

  Value matrix = k.div(lane, 8), matrixRow = k.rem(lane, 8);
  Value lowHalf = k.mul(k.rem(matrix, 2), 8),
        highHalf = k.mul(k.div(matrix, 2), 8);
  int64_t kSteps = headDim / 16;
  SmallVector<SmallVector<Value>> queryFragments;
  Value queryRow = k.add(k.add(k.mul(warp, 16), lowHalf), matrixRow);
  for (int64_t s = 0; s < kSteps; ++s)
    queryFragments.push_back(loadMatrices(tile(k.idx(0)), queryRow,
                                          k.add(highHalf, s * 16),
                                          /*transpose=*/false));

  // Rows of this lane and the first of its two accumulator columns.
  Value rows[2];
  rows[0] = k.add(rowBegin, k.add(k.mul(warp, 16), k.div(lane, 4)));
  rows[1] = k.add(rows[0], 8);
  Value pairColumn = k.mul(k.rem(lane, 4), 2);

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
        Value buffer = k.rem(position, 2);
        Value next = k.add(position, 1);
        Type tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
        Value pending = k.ifThenElse(
            k.ult(next, numListed), tokenType,
            [&]() -> SmallVector<Value> {
              SmallVector<Value> prefetch;
              copyKeyValueBlock(listedBlock(next), k.sub(k.idx(1), buffer),
                                prefetch);
              return {commit(prefetch)};
            },
            [&]() -> SmallVector<Value> { return {commit({})}; })[0];
        nvgpu::DeviceAsyncWaitOp::create(b, pending, b.getI32IntegerAttr(1));
        gpu::BarrierOp::create(b);
        Value block = listedBlock(position);
        Value keys = tile(k.add(buffer, 1)), values = tile(k.add(buffer, 3));

        // S = Q K^T for the warp's 16 rows and the block's 64 keys.
        SmallVector<SmallVector<Value, 4>> scores(8, {zero, zero, zero, zero});
        for (int64_t s = 0; s < kSteps; ++s)
          for (int64_t pair = 0; pair < 4; ++pair) {
            SmallVector<Value> kf =
                loadMatrices(keys, k.add(k.add(highHalf, matrixRow), pair * 16),
                             k.add(lowHalf, s * 16), /*transpose=*/false);
            scores[2 * pair] = k.mma(queryFragments[s], {kf[0], kf[1]},
                                     scores[2 * pair], element);
            scores[2 * pair + 1] = k.mma(queryFragments[s], {kf[2], kf[3]},
                                         scores[2 * pair + 1], element);
          }

        // Scores in base 2 with the log-prior; keys after the query are
        // masked (only possible in the diagonal block).
        Value keyBase = k.add(k.mul(block, kTileRows), pairColumn);
        SmallVector<Value> results;
        SmallVector<Value> correction;
        for (int64_t r = 0; r < 2; ++r) {
          Value prior = memref::LoadOp::create(
              b, o.logPrior,
              ValueRange{batchIndex, kvHead, k.min(rows[r], k.idx(seqLen - 1)),
                         block});
          Value bias = k.fmul(prior, priorScale);
          Value rowMax = negInf;
          for (int64_t j = 0; j < 8; ++j)
            for (int64_t e = 0; e < 2; ++e) {
              Value &score = scores[j][2 * r + e];
              Value key = k.add(keyBase, j * 8 + e);
              Value masked = arith::CmpIOp::create(b, arith::CmpIPredicate::ugt,
                                                   key, rows[r]);
              score = k.select(masked, negInf,
                               math::FmaOp::create(b, score, scoreScale, bias));
              rowMax = k.fmax(rowMax, score);
            }
          rowMax = k.quadReduce(rowMax,
                                [&](Value x, Value y) { return k.fmax(x, y); });
          Value runningMax = k.fmax(carried[r], rowMax);
          // All scores so far -inf: subtract 0 rather than produce NaN.
          Value base =
              k.select(arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                             runningMax, negInf),
                       zero, runningMax);
          Value sum = zero;
          for (int64_t j = 0; j < 8; ++j)
            for (int64_t e = 0; e < 2; ++e) {
              Value &score = scores[j][2 * r + e];
              score = math::Exp2Op::create(b, k.fsub(score, base));
              sum = k.fadd(sum, score);
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

        // O = O * correction + P V, P in the A-operand layout.
        SmallVector<SmallVector<Value, 4>> out(outTiles);
        for (int64_t j = 0; j < outTiles; ++j)
          for (int64_t i = 0; i < 4; ++i)
            out[j].push_back(k.fmul(carried[4 + 4 * j + i], correction[i / 2]));
        for (int64_t slice = 0; slice < 4; ++slice) {
          SmallVector<Value> p;
          for (int64_t half = 0; half < 2; ++half)
            for (int64_t r = 0; r < 2; ++r) {
              SmallVector<Value, 4> &tileScores = scores[2 * slice + half];
              p.push_back(
                  k.pack(tileScores[2 * r], tileScores[2 * r + 1], element));
            }
          for (int64_t pair = 0; pair < outTiles / 2; ++pair) {
            SmallVector<Value> vf = loadMatrices(
                values, k.add(k.add(lowHalf, matrixRow), slice * 16),
                k.add(highHalf, pair * 16), /*transpose=*/true);
            out[2 * pair] = k.mma(p, {vf[0], vf[1]}, out[2 * pair], element);
            out[2 * pair + 1] =
                k.mma(p, {vf[2], vf[3]}, out[2 * pair + 1], element);
          }
        }
        for (auto &tileOut : out)
          results.append(tileOut.begin(), tileOut.end());
        // Every warp is done with this buffer before it is refilled.
        gpu::BarrierOp::create(b);
        return results;
      });

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
        vector::StoreOp::create(
            b, pair, o.output,
            ValueRange{batchIndex, head, rows[r], k.add(pairColumn, j * 8)});
      }
      k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                     k.rem(lane, 4), k.idx(0)),
               [&] {
                 memref::StoreOp::create(b, lse, o.lse,
                                         ValueRange{batchIndex, head, rows[r]});
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
