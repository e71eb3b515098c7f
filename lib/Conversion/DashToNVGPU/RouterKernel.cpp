//===- RouterKernel.cpp - The fused router (spec F2-F5) -------------------===//
//
// One CTA per (batch, KV head, tile of T tokens) holds the routing logits of
// the tile's R = G * T rows (every head of the group for each token) in
// shared memory, so the [B, H, N, Mc] logits never reach global memory:
//
// The logits fill most of the SM's shared memory, so one CTA is resident
// per SM; it has 8 threads per row (16 warps for 64 rows) so that the
// schedulers have warps to switch between.
//
// 1. Logits. Row r is token r / G, head r % G. The rows' queries are staged
//    in shared memory; each warp takes every row and walks every W-th chunk
//    of 8 candidate blocks (W warps), so each summary is read once per CTA,
//    with 16-byte loads of a lane's columns (D permuted alike in Q and the
//    summaries), the next chunk's in flight during this one's products, and
//    one independent mma chain per 16 rows. Each summary enters as three
//    16-bit terms (buildSummarySplitKernel), so the f32-accumulated products
//    are f32 logits. Rows keep x = (alpha - 1) z, and -inf past the
//    candidates.
// 2. Entmax. Eight lanes per row (rows padded to 8 mod 32 floats, so the 32
//    lanes hit 32 banks) find max x, then tau by Newton steps on
//    f(tau) = sum [x - max - tau]_+^e - 1 from tau = -1: f is convex and
//    decreasing for e = 1 / (alpha - 1) >= 1, so the steps rise
//    monotonically to the root. The warp stops when no row's step exceeds
//    1e-7. The row's u = [x - max - tau]_+^e then replace its logits, and
//    1 / their sum is kept: p = u * (1 / sum), within an ulp of the linalg
//    lowering's u / sum, for one division a row.
// 3. Prior. The warps share out (token, column) pairs: each pools p over
//    the G heads (pi) and writes the log-prior (forced blocks 0, support
//    log pi, centred or not, everything else -inf); per-token sums for the
//    centring and the count meet in shared memory.
//
// All tokens of a tile share their block (T divides 64), hence their
// candidate blocks c < floor(i / 64).
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

constexpr int64_t kSplitThreads = 256;
constexpr int64_t kSplitTerms = 3;
constexpr int64_t kMaxNewtonSteps = 64;
/// Columns each lane of a row loads per loop step in the entmax solve:
/// independent loads and partial sums hide the shared-memory latency.
constexpr int64_t kUnroll = 4;
/// Candidate columns are padded to a multiple of this.
constexpr int64_t kColumnQuantum = kRouterLanesPerRow * kUnroll;
constexpr double kNewtonTolerance = 1e-7;
constexpr double kInf = std::numeric_limits<double>::infinity();

using P = arith::CmpFPredicate;

class RouterEmitter : QueryShape {
public:
  RouterEmitter(ImplicitLocOpBuilder &b, const RouterOperands &o)
      : QueryShape(o.query), b(b), k(b), o(o) {
    ArrayRef<int64_t> sShape =
        cast<MemRefType>(o.summaries.getType()).getShape();
    kvHeads = sShape[1];
    complete = sShape[2];
    numBlocks = cast<MemRefType>(o.logPrior.getType()).getDimSize(3);
    group = heads / kvHeads;
    tile = routerKernelTile(group, complete, headDim);
    warps = tile.warps;
    exponent = 1.0 / (o.alpha - 1.0);
  }

  void emit();

private:
  /// The tile's query rows into `queries` (shared, D + 8 a row), in the
  /// column order of loadLaneColumns.
  void stageQueries(Value queries);
  void computeLogits();
  void solveEntmax();
  void writeProbabilities();
  void writePrior();

  /// The logits' k dimension (D) is permuted alike in Q and the summaries,
  /// which leaves the products unchanged: the lane with l % 4 = q holds
  /// columns D/4 q .. D/4 q + D/4 - 1 of its rows, so it loads them with
  /// 16-byte loads instead of one 4-byte load per operand register. These
  /// are the loads of `memref[prefix..., D/4 q ...]`.
  SmallVector<Value> loadLaneColumns(Value memref, ValueRange prefix,
                                     Value quad) {
    int64_t width = headDim / 4;
    SmallVector<Value> vectors;
    for (int64_t i = 0; i < width / 8; ++i) {
      SmallVector<Value> indices(prefix);
      indices.push_back(k.add(k.mul(quad, width), i * 8));
      vectors.push_back(vector::LoadOp::create(
          b, VectorType::get({8}, element), memref, indices,
          /*nontemporal=*/false, llvm::MaybeAlign(16)));
    }
    return vectors;
  }
  /// The operand register of k-step `step`, half `half` (columns 2 (l % 4)
  /// + 8 half of the step in PTX's layout) from loadLaneColumns.
  Value laneColumnPair(ArrayRef<Value> vectors, int64_t step, int64_t half) {
    int64_t offset = 4 * step + 2 * half;
    Value vector = vectors[offset / 8];
    return k.operand(vector::ShuffleOp::create(
        b, vector, vector, ArrayRef<int64_t>{offset % 8, offset % 8 + 1}));
  }
  Value workgroupView(ArrayRef<int64_t> shape, int64_t byteOffset) {
    auto type =
        MemRefType::get(shape, b.getF32Type(), AffineMap(),
                        gpu::AddressSpaceAttr::get(
                            b.getContext(), gpu::AddressSpace::Workgroup));
    return memref::ViewOp::create(b, type, shared, k.idx(byteOffset),
                                  ValueRange());
  }
  /// d^e and d^(e-1) for d >= 0 (NaN stays NaN).
  Value power(Value d) {
    if (exponent == 1.0)
      return d;
    if (exponent == 2.0)
      return k.fmul(d, d);
    return math::PowFOp::create(b, d, k.f32(exponent));
  }
  Value powerMinusOne(Value d) {
    if (exponent == 1.0)
      return k.select(k.fcmp(P::OGT, d, k.f32(0.0)), k.f32(1.0), k.f32(0.0));
    if (exponent == 2.0)
      return d;
    return math::PowFOp::create(b, d, k.f32(exponent - 1.0));
  }
  Value warpAny(Value flag) {
    Type i32 = b.getI32Type();
    Value bits = arith::ExtUIOp::create(b, i32, flag);
    bits = k.laneReduce(bits, kWarpSize, [&](Value x, Value y) {
      return arith::OrIOp::create(b, x, y);
    });
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ne, bits, k.i32(0));
  }
  Value warpSum(Value v) {
    return k.laneReduce(v, kWarpSize, [&](Value x, Value y) -> Value {
      if (isa<FloatType>(x.getType()))
        return k.fadd(x, y);
      return arith::AddIOp::create(b, x, y);
    });
  }
  /// pi of block `column` (< candidates) for tile token `token`.
  Value pooled(Value token, Value column);
  /// Whether `column` is forced for a query of block `own` (spec F4).
  Value isForced(Value column);

  ImplicitLocOpBuilder &b;
  KernelBuilder k;
  const RouterOperands &o;
  int64_t kvHeads, complete, numBlocks, group, warps;
  RouterKernelTile tile;
  double exponent;

  // Values of the kernel body.
  /// `sums` holds each row's 1 / sum of its unnormalised probabilities.
  Value thread, lane, warp, tileBegin, kvHead, batchIndex, shared, logits, sums,
      tokenState, own, paddedCandidates;
};

void RouterEmitter::emit() {
  int64_t tiles = static_cast<int64_t>(llvm::divideCeil(seqLen, tile.tokens));
  auto launch = k.launch("dash_router", {tiles, kvHeads, batch},
                         warps * kWarpSize, tile.sharedBytes);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());

  thread = k.threadId();
  lane = k.rem(thread, kWarpSize);
  warp = k.div(thread, kWarpSize);
  tileBegin = k.mul(k.blockId(gpu::Dimension::x), tile.tokens);
  kvHead = k.blockId(gpu::Dimension::y);
  batchIndex = k.blockId(gpu::Dimension::z);
  shared = gpu::DynamicSharedMemoryOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), AffineMap(),
                         gpu::AddressSpaceAttr::get(
                             b.getContext(), gpu::AddressSpace::Workgroup)));
  logits = workgroupView({tile.rows, tile.rowStride}, 0);
  sums = workgroupView({tile.rows}, tile.rows * tile.rowStride * 4);
  tokenState = workgroupView({3, tile.tokens, tile.warpsPerToken},
                             tile.rows * (tile.rowStride + 1) * 4);
  // The candidates of every token of the tile: the blocks before its own.
  own = k.div(tileBegin, o.blockSize);
  paddedCandidates = k.mul(
      k.div(k.add(own, kColumnQuantum - 1), kColumnQuantum), kColumnQuantum);

  // Without a complete block no query has a candidate.
  if (complete > 0) {
    computeLogits();
    gpu::BarrierOp::create(b);
    solveEntmax();
    gpu::BarrierOp::create(b);
    if (o.probs) {
      writeProbabilities();
      // writePrior reuses the logits' shared memory.
      gpu::BarrierOp::create(b);
    }
  }
  writePrior();
  gpu::TerminatorOp::create(b);
}

void RouterEmitter::stageQueries(Value queries) {
  // Physical column p of the lane-column order (loadLaneColumns) is stored
  // at the logical column k = 16 s + 8 h + 2 q + e of PTX's fragment layout
  // (q = p / (D/4), r = p % (D/4) = 4 s + 2 h + e), so that ldmatrix hands
  // each lane the columns its summary operands hold.
  int64_t width = headDim / 4, chunksPerRow = headDim / 8;
  auto vectorType = VectorType::get({8}, element);
  int64_t steps =
      llvm::divideCeilSigned(tile.rows * chunksPerRow, tile.warps * kWarpSize);
  for (int64_t i = 0; i < steps; ++i) {
    Value chunk = k.add(thread, i * tile.warps * kWarpSize);
    Value row = k.div(chunk, chunksPerRow);
    k.ifThen(k.ult(row, k.idx(tile.rows)), [&] {
      Value first = k.mul(k.rem(chunk, chunksPerRow), 8);
      Value head = k.add(k.mul(kvHead, group), k.rem(row, group));
      Value token =
          k.min(k.add(tileBegin, k.div(row, group)), k.idx(seqLen - 1));
      Value loaded = vector::LoadOp::create(
          b, vectorType, o.query, ValueRange{batchIndex, head, token, first},
          /*nontemporal=*/false, llvm::MaybeAlign(16));
      Value quad = k.div(first, width);
      Value within = k.rem(first, width);
      for (int64_t pair = 0; pair < 4; ++pair) {
        // within + 2 pair = 4 s + 2 h with `within` a multiple of 8.
        Value step = k.add(k.div(within, 4), pair / 2);
        Value column =
            k.add(k.add(k.mul(step, 16), (pair % 2) * 8), k.mul(quad, 2));
        Value two = vector::ShuffleOp::create(
            b, loaded, loaded, ArrayRef<int64_t>{2 * pair, 2 * pair + 1});
        vector::StoreOp::create(b, two, queries, ValueRange{row, column});
      }
    });
  }
}

void RouterEmitter::computeLogits() {
  Value quad = k.rem(lane, 4);
  int64_t mTiles = tile.rows / 16;
  auto queryType = MemRefType::get(
      {tile.rows, headDim + 8}, element, AffineMap(),
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup));
  Value queries = memref::ViewOp::create(b, queryType, shared,
                                         k.idx(tile.queryOffset), ValueRange());
  stageQueries(queries);
  gpu::BarrierOp::create(b);
  // ldmatrix.x4 of an A operand: lane l addresses row l % 16 and column
  // 8 (l / 16) of the 16 x 16 slice.
  Value matrixRow = k.rem(lane, 16);
  Value matrixColumn = k.mul(k.div(lane, 16), 8);
  auto queryOperand = [&](int64_t mTile, int64_t step) {
    Value pairs =
        nvgpu::LdMatrixOp::create(b, VectorType::get({4, 2}, element), queries,
                                  ValueRange{k.add(matrixRow, mTile * 16),
                                             k.add(matrixColumn, step * 16)},
                                  /*transpose=*/false, /*numTiles=*/4);
    return k.registers(pairs);
  };

  double xScale = o.alpha - 1.0;
  Value negInf = k.f32(-kInf);
  // Every warp takes every row: its chunks of 8 blocks are warp,
  // warp + warps, ..., so that each summary is loaded once per CTA.
  Value chunks = k.div(paddedCandidates, 8);
  Value myChunks =
      k.div(k.sub(k.add(chunks, tile.warps - 1), warp), tile.warps);
  auto firstBlockOf = [&](Value step) {
    return k.mul(k.add(warp, k.mul(step, tile.warps)), 8);
  };
  // The B operands of a chunk: column l / 4 is the summary of that block
  // (clamped; the columns past the candidates are masked below, and a
  // chunk past the warp's last is loaded but not used).
  auto loadChunk = [&](Value step) {
    Value block =
        k.min(k.add(firstBlockOf(step), k.div(lane, 4)), k.idx(complete - 1));
    SmallVector<Value> loaded;
    for (int64_t term = 0; term < kSplitTerms; ++term)
      llvm::append_range(
          loaded, loadLaneColumns(
                      o.parts, {k.idx(term), batchIndex, kvHead, block}, quad));
    return loaded;
  };
  int64_t vectorsPerTerm = headDim / 32;
  // Software pipeline: the next chunk's loads are in flight during this
  // chunk's products.
  k.forLoop(
      k.idx(0), myChunks, loadChunk(k.idx(0)),
      [&](Value step, ValueRange current) -> SmallVector<Value> {
        Value firstBlock = firstBlockOf(step);
        SmallVector<Value> next = loadChunk(k.add(step, 1));
        SmallVector<SmallVector<Value>> terms;
        for (int64_t term = 0; term < kSplitTerms; ++term)
          terms.emplace_back(
              current.slice(term * vectorsPerTerm, vectorsPerTerm));
        // One accumulator chain per 16-row tile: independent mma.
        SmallVector<SmallVector<Value, 4>> acc(
            mTiles, SmallVector<Value, 4>(4, k.f32(0.0)));
        for (int64_t s = 0; s < headDim / 16; ++s)
          for (int64_t m = 0; m < mTiles; ++m) {
            SmallVector<Value> a = queryOperand(m, s);
            for (int64_t term = kSplitTerms - 1; term >= 0; --term) {
              SmallVector<Value> bRegs = {laneColumnPair(terms[term], s, 0),
                                          laneColumnPair(terms[term], s, 1)};
              acc[m] = k.mma(a, bRegs, acc[m], element);
            }
          }
        // Accumulator layout: (row l/4, columns 2 (l % 4) + j) in
        // acc[j], row l/4 + 8 in acc[2 + j].
        for (int64_t m = 0; m < mTiles; ++m)
          for (int64_t j = 0; j < 2; ++j) {
            Value column = k.add(k.add(firstBlock, k.mul(quad, 2)), j);
            Value candidate = k.ult(column, own);
            for (int64_t half = 0; half < 2; ++half) {
              Value row = k.add(k.div(lane, 4), m * 16 + half * 8);
              Value z = k.fmul(acc[m][2 * half + j], k.f32(o.factor));
              Value x = k.select(candidate, k.fmul(z, k.f32(xScale)), negInf);
              memref::StoreOp::create(b, x, logits, ValueRange{row, column});
            }
          }
        return next;
      });
}

void RouterEmitter::solveEntmax() {
  Value row = k.add(k.mul(warp, kWarpSize / kRouterLanesPerRow),
                    k.div(lane, kRouterLanesPerRow));
  Value part = k.rem(lane, kRouterLanesPerRow);
  Value steps = k.div(paddedCandidates, kColumnQuantum);
  auto columnOf = [&](Value step, int64_t u) {
    return k.add(k.mul(k.add(k.mul(step, kUnroll), u), kRouterLanesPerRow),
                 part);
  };
  // Folds `body` over this lane's columns with kUnroll independent sets of
  // accumulators, merged by `merge` at the end (and across the row's
  // lanes).
  auto overColumns =
      [&](ArrayRef<Value> inits,
          function_ref<SmallVector<Value>(Value, Value, ValueRange)> body,
          function_ref<Value(Value, Value)> merge) {
        size_t n = inits.size();
        SmallVector<Value> all;
        for (int64_t u = 0; u < kUnroll; ++u)
          llvm::append_range(all, inits);
        ValueRange folded =
            k.forLoop(k.idx(0), steps, all,
                      [&](Value step, ValueRange acc) -> SmallVector<Value> {
                        SmallVector<Value> columns, xs;
                        for (int64_t u = 0; u < kUnroll; ++u) {
                          columns.push_back(columnOf(step, u));
                          xs.push_back(memref::LoadOp::create(
                              b, logits, ValueRange{row, columns.back()}));
                        }
                        SmallVector<Value> next;
                        for (int64_t u = 0; u < kUnroll; ++u)
                          llvm::append_range(next, body(columns[u], xs[u],
                                                        acc.slice(u * n, n)));
                        return next;
                      });
        SmallVector<Value> out(folded.begin(), folded.begin() + n);
        for (int64_t u = 1; u < kUnroll; ++u)
          for (size_t i = 0; i < n; ++i)
            out[i] = merge(out[i], folded[u * n + i]);
        for (Value &v : out)
          v = k.laneReduce(v, kRouterLanesPerRow, merge);
        return out;
      };
  auto add = [&](Value x, Value y) { return k.fadd(x, y); };
  auto maximum = [&](Value x, Value y) { return k.fmax(x, y); };

  Value max = overColumns(
      {k.f32(-kInf)},
      [&](Value, Value x, ValueRange acc) -> SmallVector<Value> {
        return {k.fmax(acc[0], x)};
      },
      maximum)[0];
  auto excess = [&](Value x, Value tau) {
    return k.fmax(k.fsub(k.fsub(x, max), tau), k.f32(0.0));
  };

  // The warp steps while any of its rows is still rising (warp-uniform, so
  // that the shuffles see every lane), at most kMaxNewtonSteps times.
  Value tau = k.whileLoop(
      {k.f32(-1.0), arith::ConstantIntOp::create(b, 1, 1), k.idx(0)},
      [&](ValueRange carried) -> Value {
        Value withinLimit = k.ult(carried[2], k.idx(kMaxNewtonSteps));
        return arith::AndIOp::create(b, withinLimit, warpAny(carried[1]));
      },
      [&](ValueRange carried) -> SmallVector<Value> {
        // sum d^e and sum d^(e-1), d = [x - max - tau]_+.
        SmallVector<Value> s = overColumns(
            {k.f32(0.0), k.f32(0.0)},
            [&](Value, Value x, ValueRange acc) -> SmallVector<Value> {
              Value d = excess(x, carried[0]);
              return {k.fadd(acc[0], power(d)),
                      k.fadd(acc[1], powerMinusOne(d))};
            },
            add);
        Value step =
            k.fdiv(k.fsub(s[0], k.f32(1.0)), k.fmul(k.f32(exponent), s[1]));
        // NaN compares false: the row stops and stays NaN.
        Value rises = k.fcmp(P::OGT, step, k.f32(0.0));
        return {k.select(rises, k.fadd(carried[0], step), carried[0]),
                k.fcmp(P::OGT, step, k.f32(kNewtonTolerance)),
                k.add(carried[2], 1)};
      })[0];
  // The unnormalised probabilities d^e replace the logits; the reciprocal
  // of their sum normalises them when pooled (one division a row rather
  // than one a read).
  Value total = overColumns(
      {k.f32(0.0)},
      [&](Value column, Value x, ValueRange acc) -> SmallVector<Value> {
        Value u = power(excess(x, tau));
        memref::StoreOp::create(b, u, logits, ValueRange{row, column});
        return {k.fadd(acc[0], u)};
      },
      add)[0];
  k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, part, k.idx(0)),
           [&] {
             memref::StoreOp::create(b, k.fdiv(k.f32(1.0), total), sums,
                                     ValueRange{row});
           });
}

void RouterEmitter::writeProbabilities() {
  // Warps take rows, lanes consecutive columns: coalesced rows of
  // p = u / sum (0 past the candidates).
  int64_t rowSteps = llvm::divideCeilSigned(tile.rows, warps);
  int64_t columnSteps = llvm::divideCeilSigned(complete, kWarpSize);
  k.forLoop(k.idx(0), k.idx(rowSteps), {}, [&](Value step, ValueRange) {
    Value row = k.add(warp, k.mul(step, warps));
    Value token = k.div(row, group);
    Value query = k.add(tileBegin, token);
    Value inside = arith::AndIOp::create(b, k.ult(row, k.idx(tile.rows)),
                                         k.ult(query, k.idx(seqLen)));
    k.ifThen(inside, [&] {
      Value head = k.add(k.mul(kvHead, group), k.rem(row, group));
      Value inverseSum = memref::LoadOp::create(b, sums, ValueRange{row});
      k.forLoop(k.idx(0), k.idx(columnSteps), {}, [&](Value j, ValueRange) {
        Value column = k.add(k.mul(j, kWarpSize), lane);
        k.ifThen(k.ult(column, k.idx(complete)), [&] {
          Value p = k.ifThenElse(
              k.ult(column, own), {b.getF32Type()},
              [&]() -> SmallVector<Value> {
                Value u =
                    memref::LoadOp::create(b, logits, ValueRange{row, column});
                return {k.fmul(u, inverseSum)};
              },
              [&]() -> SmallVector<Value> { return {k.f32(0.0)}; })[0];
          memref::StoreOp::create(b, p, o.probs,
                                  ValueRange{batchIndex, head, query, column});
        });
        return SmallVector<Value>{};
      });
    });
    return SmallVector<Value>{};
  });
}

Value RouterEmitter::pooled(Value token, Value column) {
  Value share = k.f32(1.0 / static_cast<double>(group));
  return k.forLoop(
      k.idx(0), k.idx(group), {k.f32(0.0)},
      [&](Value head, ValueRange acc) -> SmallVector<Value> {
        Value row = k.add(k.mul(token, group), head);
        Value u = memref::LoadOp::create(b, logits, ValueRange{row, column});
        Value p = k.fmul(u, memref::LoadOp::create(b, sums, ValueRange{row}));
        return {k.fadd(acc[0], k.fmul(p, share))};
      })[0];
}

Value RouterEmitter::isForced(Value column) {
  auto cmp = [&](arith::CmpIPredicate predicate, Value x, Value y) -> Value {
    return arith::CmpIOp::create(b, predicate, x, y);
  };
  using I = arith::CmpIPredicate;
  Value upToOwn = cmp(I::ule, column, own);
  Value local = arith::AndIOp::create(
      b, upToOwn, cmp(I::uge, k.add(column, o.localBlocks), own));
  Value initial =
      arith::AndIOp::create(b, upToOwn, k.ult(column, k.idx(o.initBlocks)));
  return arith::OrIOp::create(b, local, initial);
}

void RouterEmitter::writePrior() {
  Type f32 = b.getF32Type();
  Value negInf = k.f32(-kInf);
  // Warps per token (when there are more warps than tokens), the tokens in
  // flight, and this warp's share.
  int64_t warpsPerToken = tile.warpsPerToken;
  int64_t tokenSlots = warps / warpsPerToken;
  int64_t tokenSteps =
      static_cast<int64_t>(llvm::divideCeil(tile.tokens, tokenSlots));
  int64_t columnSteps = static_cast<int64_t>(
      llvm::divideCeil(numBlocks, kWarpSize * warpsPerToken));
  Value slot = k.div(warp, warpsPerToken);
  Value slice = k.rem(warp, warpsPerToken);

  // Per-token sums: log pi over the support, its size, and the selected
  // blocks (f32 holds these counts exactly). Each warp of a token leaves its
  // part in shared memory; the parts are added in a fixed order, so that
  // the result does not depend on timing.
  enum : int64_t { kLogSum, kSupport, kSelected };
  auto storePart = [&](int64_t which, Value token, Value partial) {
    Value total = warpSum(partial);
    k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, k.idx(0)),
             [&] {
               memref::StoreOp::create(b, total, tokenState,
                                       ValueRange{k.idx(which), token, slice});
             });
  };
  auto tokenSum = [&](int64_t which, Value token) {
    Value total = k.f32(0.0);
    for (int64_t part = 0; part < warpsPerToken; ++part)
      total = k.fadd(total, memref::LoadOp::create(
                                b, tokenState,
                                ValueRange{k.idx(which), token, k.idx(part)}));
    return total;
  };
  // `body(token, query, column)` for this warp's (token, column) pairs.
  auto overPairs =
      [&](function_ref<SmallVector<Value>(Value, Value, Value, ValueRange)>
              body,
          ArrayRef<Value> inits, function_ref<void(Value, ValueRange)> finish) {
        k.forLoop(k.idx(0), k.idx(tokenSteps), {}, [&](Value step, ValueRange) {
          Value token = k.add(slot, k.mul(step, tokenSlots));
          Value query = k.add(tileBegin, token);
          Value inside = arith::AndIOp::create(
              b,
              arith::AndIOp::create(b, k.ult(slot, k.idx(tokenSlots)),
                                    k.ult(token, k.idx(tile.tokens))),
              k.ult(query, k.idx(seqLen)));
          k.ifThen(inside, [&] {
            ValueRange acc = k.forLoop(
                k.idx(0), k.idx(columnSteps), inits,
                [&](Value j, ValueRange carried) -> SmallVector<Value> {
                  Value column = k.add(
                      k.mul(k.add(k.mul(j, warpsPerToken), slice), kWarpSize),
                      lane);
                  return body(token, query, column, carried);
                });
            finish(token, acc);
          });
          return SmallVector<Value>{};
        });
        gpu::BarrierOp::create(b);
      };

  // pi of `column` (0 past the candidates, which are never in the support).
  auto pooledOrZero = [&](Value token, Value column) -> Value {
    return k.ifThenElse(
        k.ult(column, own), {f32},
        [&]() -> SmallVector<Value> { return {pooled(token, column)}; },
        [&]() -> SmallVector<Value> { return {k.f32(0.0)}; })[0];
  };
  auto storedOrZero = [&](Value token, Value column) -> Value {
    return k.ifThenElse(
        k.ult(column, own), {f32},
        [&]() -> SmallVector<Value> {
          return {memref::LoadOp::create(
              b, logits, ValueRange{k.mul(token, group), column})};
        },
        [&]() -> SmallVector<Value> { return {k.f32(0.0)}; })[0];
  };
  auto inSupport = [&](Value pi) { return k.fcmp(P::UGT, pi, k.f32(0.0)); };
  auto one = [&](Value flag) { return k.select(flag, k.f32(1.0), k.f32(0.0)); };

  bool centered = o.priorMode == PriorMode::Centered;
  if (centered)
    overPairs(
        [&](Value token, Value, Value column,
            ValueRange acc) -> SmallVector<Value> {
          Value pi = pooledOrZero(token, column);
          // Kept in the token's first row (only this lane has this column)
          // for the second pass.
          k.ifThen(k.ult(column, own), [&] {
            memref::StoreOp::create(b, pi, logits,
                                    ValueRange{k.mul(token, group), column});
          });
          Value in = inSupport(pi);
          return {k.fadd(acc[0],
                         k.select(in, math::LogOp::create(b, pi), k.f32(0.0))),
                  k.fadd(acc[1], one(in))};
        },
        {k.f32(0.0), k.f32(0.0)},
        [&](Value token, ValueRange acc) {
          storePart(kLogSum, token, acc[0]);
          storePart(kSupport, token, acc[1]);
        });

  overPairs(
      [&](Value token, Value query, Value column,
          ValueRange acc) -> SmallVector<Value> {
        Value pi = centered ? storedOrZero(token, column)
                            : pooledOrZero(token, column);
        Value value = k.f32(0.0);
        if (o.priorMode != PriorMode::Flat) {
          value = math::LogOp::create(b, pi);
          if (centered) {
            Value mean = k.fdiv(tokenSum(kLogSum, token),
                                k.fmax(tokenSum(kSupport, token), k.f32(1.0)));
            value = k.fmul(k.fsub(value, mean), k.f32(1.0 / o.sigma));
          }
        }
        Value prior = k.select(isForced(column), k.f32(0.0),
                               k.select(inSupport(pi), value, negInf));
        Value inRow = k.ult(column, k.idx(numBlocks));
        k.ifThen(inRow, [&] {
          memref::StoreOp::create(
              b, prior, o.logPrior,
              ValueRange{batchIndex, kvHead, query, column});
        });
        // Ordered: a NaN prior is not counted, as in the linalg lowering.
        return {k.fadd(acc[0], one(arith::AndIOp::create(
                                   b, inRow, k.fcmp(P::ONE, prior, negInf))))};
      },
      {k.f32(0.0)},
      [&](Value token, ValueRange acc) {
        storePart(kSelected, token, acc[0]);
      });

  Value query = k.add(tileBegin, thread);
  k.ifThen(arith::AndIOp::create(b, k.ult(thread, k.idx(tile.tokens)),
                                 k.ult(query, k.idx(seqLen))),
           [&] {
             Value count = tokenSum(kSelected, thread);
             memref::StoreOp::create(
                 b, arith::FPToSIOp::create(b, b.getI32Type(), count), o.counts,
                 ValueRange{batchIndex, kvHead, query});
           });
}

} // namespace

void buildSummarySplitKernel(ImplicitLocOpBuilder &b, Value summaries,
                             Value parts) {
  KernelBuilder k(b);
  ArrayRef<int64_t> s = cast<MemRefType>(summaries.getType()).getShape();
  int64_t total = s[0] * s[1] * s[2] * s[3];
  if (total == 0)
    return;
  Type element = cast<MemRefType>(parts.getType()).getElementType();
  auto launch = k.launch(
      "dash_router_split",
      {static_cast<int64_t>(llvm::divideCeil(total, kSplitThreads)), 1, 1},
      kSplitThreads, /*sharedBytes=*/0);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  Value linear =
      k.add(k.mul(k.blockId(gpu::Dimension::x), kSplitThreads), k.threadId());
  k.ifThen(k.ult(linear, k.idx(total)), [&] {
    Value d = k.rem(linear, s[3]);
    Value rest = k.div(linear, s[3]);
    Value block = k.rem(rest, s[2]);
    rest = k.div(rest, s[2]);
    Value head = k.rem(rest, s[1]);
    Value batch = k.div(rest, s[1]);
    Value residual =
        memref::LoadOp::create(b, summaries, ValueRange{batch, head, block, d});
    // Each term rounds what the previous ones left; the differences are
    // exact in f32.
    for (int64_t term = 0; term < kSplitTerms; ++term) {
      Value rounded = arith::TruncFOp::create(b, element, residual);
      memref::StoreOp::create(b, rounded, parts,
                              ValueRange{k.idx(term), batch, head, block, d});
      residual =
          k.fsub(residual, arith::ExtFOp::create(b, b.getF32Type(), rounded));
    }
  });
  gpu::TerminatorOp::create(b);
}

void buildRouterKernel(ImplicitLocOpBuilder &b,
                       const RouterOperands &operands) {
  RouterEmitter(b, operands).emit();
}

} // namespace mlir::dash::nvgpu_kernels
