//===- TileEmitter.cpp - Shared-memory tiles and mma fragments ------------===//

#include "TileEmitter.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::dash::nvgpu_kernels {

/// Elements per 16-byte cp.async.
constexpr int64_t kChunk = 8;

static gpu::AddressSpaceAttr workgroup(MLIRContext *context) {
  return gpu::AddressSpaceAttr::get(context, gpu::AddressSpace::Workgroup);
}

/// Elements per swizzled row (128 bytes), and the alignment of the
/// swizzle pattern.
constexpr int64_t kSwizzleRow = 64;
constexpr int64_t kSwizzleAlignment = 1024;

TileEmitter::TileEmitter(ImplicitLocOpBuilder &b, Value query,
                         TileLayout layout)
    : QueryShape(query), b(b), k(b), layout(layout) {
  rowStride = layout == TileLayout::Padded ? headDim + kChunk : headDim;
  tileBytes = kTileRows * rowStride * 2;
}

void TileEmitter::beginKernel(StringRef name, ArrayRef<int64_t> grid,
                              int64_t tiles, int64_t extraBytes,
                              int64_t minCtasPerSM) {
  tileCount = tiles;
  bool swizzled = layout == TileLayout::Swizzled;
  int64_t alignmentSlack = swizzled ? kSwizzleAlignment : 0;
  auto launch = k.launch(name, grid, kThreads,
                         tiles * tileBytes + extraBytes + alignmentSlack);
  b.setInsertionPointToStart(&launch.getBody().front());
  thread = k.threadId();
  lane = k.rem(thread, kWarpSize);
  warp = k.div(thread, kWarpSize);
  batchIndex = k.blockId(gpu::Dimension::z);
  shared = gpu::DynamicSharedMemoryOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), AffineMap(),
                         workgroup(b.getContext())));
  tileBase = k.idx(0);
  if (swizzled) {
    // The swizzle is a function of address bits, so its groups must start
    // on 1024-byte boundaries of the shared window.
    Value address = memref::ExtractAlignedPointerAsIndexOp::create(b, shared);
    tileBase = k.rem(
        k.sub(k.idx(kSwizzleAlignment), k.rem(address, kSwizzleAlignment)),
        kSwizzleAlignment);
    tileAddress = k.add(address, tileBase);
  }
  if (minCtasPerSM)
    shared.getDefiningOp()->setAttr(kMinCtasPerSMAttrName,
                                    b.getI64IntegerAttr(minCtasPerSM));
  Value matrix = k.div(lane, 8);
  matrixRow = k.rem(lane, 8);
  lowHalf = k.mul(k.rem(matrix, 2), 8);
  highHalf = k.mul(k.div(matrix, 2), 8);
  pairColumn = k.mul(k.rem(lane, 4), 2);
  laneRow[0] = k.add(k.mul(warp, 16), k.div(lane, 4));
  laneRow[1] = k.add(laneRow[0], 8);
  auto byteOffset = [&](Value row, Value column) {
    return k.mul(k.add(k.mul(row, rowStride), column), 2);
  };
  aLaneOffset =
      byteOffset(k.add(k.add(k.mul(warp, 16), lowHalf), matrixRow), highHalf);
  kMajorLaneOffset = byteOffset(k.add(lowHalf, matrixRow), highHalf);
  nMajorLaneOffset = byteOffset(k.add(highHalf, matrixRow), lowHalf);
}

Value TileEmitter::tile(Value slot) {
  SmallVector<int64_t> shape = {kTileRows, rowStride};
  if (layout == TileLayout::Swizzled)
    shape = {headDim, kSwizzleRow};
  return sharedView(element, shape, k.mul(slot, tileBytes));
}

std::pair<Value, Value> TileEmitter::tileIndices(Value row, Value column) {
  if (layout == TileLayout::Padded)
    return {row, column};
  Value half = k.div(column, kSwizzleRow);
  Value chunk = k.div(k.rem(column, kSwizzleRow), kChunk);
  Value swizzledChunk = arith::XOrIOp::create(b, chunk, k.rem(row, 8));
  return {k.add(k.mul(half, kTileRows), row), k.mul(swizzledChunk, kChunk)};
}

Value TileEmitter::sharedFloats(Value offset, int64_t count) {
  return sharedView(b.getF32Type(), {count}, k.add(offset, afterTiles()));
}

Value TileEmitter::sharedView(Type elementType, ArrayRef<int64_t> shape,
                              Value byteOffset) {
  auto type = MemRefType::get(shape, elementType, AffineMap(),
                              workgroup(b.getContext()));
  return memref::ViewOp::create(b, type, shared, k.add(tileBase, byteOffset),
                                ValueRange());
}

Value TileEmitter::matrixDescriptor(Value byteOffset, int64_t leadingBytes,
                                    int64_t strideBytes) {
  // PTX's matrix descriptor: start address, leading and stride byte
  // offsets in 16-byte units (bits 0, 16, 32), 128-byte swizzle (bit 62).
  Value address = k.add(tileAddress, byteOffset);
  Type i64 = b.getI64Type();
  Value start =
      arith::IndexCastUIOp::create(b, i64, k.rem(k.div(address, 16), 1 << 14));
  uint64_t fields = (uint64_t(leadingBytes / 16) << 16) |
                    (uint64_t(strideBytes / 16) << 32) | (uint64_t(1) << 62);
  return arith::OrIOp::create(
      b, start,
      arith::ConstantIntOp::create(b, i64, static_cast<int64_t>(fields)));
}

/// Bytes of one 64-column half of a swizzled tile, and of its 8-row groups.
constexpr int64_t kSwizzledHalfBytes = kTileRows * kSwizzleRow * 2;
constexpr int64_t kSwizzledGroupBytes = 8 * kSwizzleRow * 2;

Value TileEmitter::kMajorStep(Value byteOffset, int64_t step, int64_t row) {
  // Four 32-byte k-steps per 128-byte swizzled row, then the next half.
  int64_t offset = step / 4 * kSwizzledHalfBytes + step % 4 * 32 +
                   row / 8 * kSwizzledGroupBytes;
  return matrixDescriptor(k.add(byteOffset, offset), /*leadingBytes=*/16,
                          kSwizzledGroupBytes);
}

Value TileEmitter::mnMajorStep(Value byteOffset, int64_t step) {
  // Two 8-row groups a k-step; N runs along a row, then on to the next half.
  return matrixDescriptor(k.add(byteOffset, step * 2 * kSwizzledGroupBytes),
                          kSwizzledHalfBytes, kSwizzledGroupBytes);
}

void TileEmitter::warpgroupMma(ArrayRef<WarpgroupProduct> products, bool wait) {
  SmallVector<SmallVector<Value>> flat(products.size());
  SmallVector<KernelBuilder::WarpgroupProduct> chains;
  for (auto [product, values] : llvm::zip_equal(products, flat)) {
    flatten(product.acc, values);
    chains.push_back(
        {values, product.steps, product.bMnMajor, product.accumulate});
  }
  for (auto [product, result] :
       llvm::zip_equal(products, k.warpgroupMma(chains, element, wait)))
    product.acc = unflatten(result);
}

void TileEmitter::storeSwizzled(const Accumulators &acc, Value byteOffset) {
  Value view = sharedView(element, {kTileRows, kSwizzleRow}, byteOffset);
  for (auto [j, group] : llvm::enumerate(acc))
    for (int64_t r = 0; r < 2; ++r) {
      Value pair = vector::FromElementsOp::create(
          b, VectorType::get({2}, element),
          ValueRange{arith::TruncFOp::create(b, element, group[2 * r]),
                     arith::TruncFOp::create(b, element, group[2 * r + 1])});
      auto [row, chunk] = tileIndices(laneRow[r], k.idx(8 * int64_t(j)));
      vector::StoreOp::create(b, pair, view,
                              ValueRange{row, k.add(chunk, pairColumn)});
    }
}

void TileEmitter::addStagedProduct(Accumulators &acc, Value aBytes,
                                   Value bBytes, bool wait) {
  SmallVector<KernelBuilder::WarpgroupOperands> steps;
  for (int64_t s = 0; s < kTileRows / 16; ++s)
    steps.push_back({kMajorStep(aBytes, s), mnMajorStep(bBytes, s)});
  warpgroupMma(acc, steps, /*bMnMajor=*/true, /*accumulate=*/true, wait);
}

Value TileEmitter::headOf(const TileRows &rows, Value row) {
  if (rows.tokens == kTileRows)
    return rows.headBase;
  return k.add(rows.headBase, k.div(row, rows.tokens));
}

Value TileEmitter::tokenOf(const TileRows &rows, Value row) {
  if (rows.tokens == kTileRows)
    return k.add(rows.tokenBase, row);
  return k.add(rows.tokenBase, k.rem(row, rows.tokens));
}

TileEmitter::TileRows TileEmitter::packedRows(const TilePacking &packing,
                                              Value tileIndex, Value chunk,
                                              Value &kvHead) {
  kvHead = k.div(chunk, packing.chunks);
  Value headBase =
      k.add(k.mul(kvHead, packing.chunks * packing.headsPerTile),
            k.mul(k.rem(chunk, packing.chunks), packing.headsPerTile));
  return {headBase, k.mul(tileIndex, packing.tokensPerTile),
          packing.tokensPerTile};
}

void TileEmitter::copyRows(Value source, const TileRows &rows, Value dst,
                           SmallVectorImpl<Value> &tokens) {
  int64_t chunksPerRow = headDim / kChunk;
  Value lastRow = k.idx(seqLen - 1);
  for (int64_t i = 0; i < kTileRows * chunksPerRow / kThreads; ++i) {
    Value chunk = k.add(thread, i * kThreads);
    Value row = k.div(chunk, chunksPerRow);
    Value column = k.mul(k.rem(chunk, chunksPerRow), kChunk);
    Value token = tokenOf(rows, row);
    Value inside = k.ult(token, k.idx(seqLen));
    Value count = k.select(inside, k.idx(kChunk), k.idx(0));
    auto [dstRow, dstColumn] = tileIndices(row, column);
    tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
        b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), dst,
        ValueRange{dstRow, dstColumn}, source,
        ValueRange{batchIndex, headOf(rows, row), k.min(token, lastRow),
                   column},
        b.getIndexAttr(kChunk), count, b.getUnitAttr()));
  }
}

void TileEmitter::copyFloat(Value source, ValueRange indices, Value inside,
                            Value dst, Value position,
                            SmallVectorImpl<Value> &tokens) {
  tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
      b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), dst,
      ValueRange{position}, source, indices, b.getIndexAttr(1),
      k.select(inside, k.idx(1), k.idx(0)), /*bypassL1=*/UnitAttr()));
}

Value TileEmitter::commit(ValueRange tokens) {
  return nvgpu::DeviceAsyncCreateGroupOp::create(
      b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), tokens);
}

void TileEmitter::waitAndSync(Value group, int32_t pending) {
  nvgpu::DeviceAsyncWaitOp::create(b, group, b.getI32IntegerAttr(pending));
  if (layout == TileLayout::Swizzled)
    k.asyncProxyFence();
  gpu::BarrierOp::create(b);
}

Value TileEmitter::commitIf(
    Value condition, function_ref<void(SmallVectorImpl<Value> &)> copies) {
  Type tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  return k.ifThenElse(
      condition, tokenType,
      [&]() -> SmallVector<Value> {
        SmallVector<Value> tokens;
        copies(tokens);
        return {commit(tokens)};
      },
      [&]() -> SmallVector<Value> { return {commit({})}; })[0];
}

Value TileEmitter::listLength(Value counts, Value head, Value owner) {
  return arith::IndexCastOp::create(
      b, b.getIndexType(),
      memref::LoadOp::create(b, counts, ValueRange{batchIndex, head, owner}));
}

Value TileEmitter::listEntry(Value lists, Value head, Value owner,
                             Value position, int64_t last) {
  Value entry = memref::LoadOp::create(
      b, lists, ValueRange{batchIndex, head, owner, position});
  return k.min(arith::IndexCastOp::create(b, b.getIndexType(), entry),
               k.idx(last));
}

SmallVector<Value> TileEmitter::loadMatrices(Value slot, Value laneOffset,
                                             int64_t row, int64_t column,
                                             bool transpose) {
  assert(layout == TileLayout::Padded && "ldmatrix reads padded tiles");
  auto type = MemRefType::get({kTileRows, rowStride}, element, AffineMap(),
                              workgroup(b.getContext()));
  Value view = memref::ViewOp::create(
      b, type, shared, k.add(k.mul(slot, tileBytes), laneOffset), ValueRange());
  Value pairs = nvgpu::LdMatrixOp::create(
      b, VectorType::get({4, 2}, element), view,
      ValueRange{k.idx(row), k.idx(column)}, transpose, /*numTiles=*/4);
  return k.registers(pairs);
}

SmallVector<Value> TileEmitter::aOperand(Value slot, int64_t column) {
  return loadMatrices(slot, aLaneOffset, 0, column, /*transpose=*/false);
}

void TileEmitter::mmaTransposedB(Accumulators &acc,
                                 function_ref<SmallVector<Value>(int64_t)> a,
                                 Value bSlot, int64_t nBase, int64_t kSteps) {
  for (int64_t s = 0; s < kSteps; ++s) {
    SmallVector<Value> aRegs = a(s);
    for (int64_t pair = 0; pair < static_cast<int64_t>(acc.size()) / 2;
         ++pair) {
      // Matrices: n 0-7 x k 0-7, n 0-7 x k 8-15, then n 8-15.
      SmallVector<Value> regs =
          loadMatrices(bSlot, nMajorLaneOffset, nBase + pair * 16, s * 16,
                       /*transpose=*/false);
      acc[2 * pair] = k.mma(aRegs, {regs[0], regs[1]}, acc[2 * pair], element);
      acc[2 * pair + 1] =
          k.mma(aRegs, {regs[2], regs[3]}, acc[2 * pair + 1], element);
    }
  }
}

void TileEmitter::mmaB(Accumulators &acc,
                       function_ref<SmallVector<Value>(int64_t)> a, Value bSlot,
                       int64_t kBase, int64_t kSteps) {
  for (int64_t s = 0; s < kSteps; ++s) {
    SmallVector<Value> aRegs = a(s);
    for (int64_t pair = 0; pair < static_cast<int64_t>(acc.size()) / 2;
         ++pair) {
      // Transposed matrices: k 0-7 x n 0-7, k 8-15 x n 0-7, then n 8-15.
      SmallVector<Value> regs =
          loadMatrices(bSlot, kMajorLaneOffset, kBase + s * 16, pair * 16,
                       /*transpose=*/true);
      acc[2 * pair] = k.mma(aRegs, {regs[0], regs[1]}, acc[2 * pair], element);
      acc[2 * pair + 1] =
          k.mma(aRegs, {regs[2], regs[3]}, acc[2 * pair + 1], element);
    }
  }
}

SmallVector<Value>
TileEmitter::aOperandOf(function_ref<Value(Value, Value)> elementAt) {
  // Registers: (m, k) = (l/4, 2 (l%4)), (l/4 + 8, ..), (l/4, .. + 8), both.
  Value row = k.div(lane, 4);
  SmallVector<Value> regs;
  for (int64_t columnHalf = 0; columnHalf < 2; ++columnHalf)
    for (int64_t rowHalf = 0; rowHalf < 2; ++rowHalf) {
      Value m = k.add(row, rowHalf * 8);
      Value column = k.add(pairColumn, columnHalf * 8);
      regs.push_back(k.pack(elementAt(m, column),
                            elementAt(m, k.add(column, 1)), element));
    }
  return regs;
}

void TileEmitter::stageTile(Value slot,
                            function_ref<Value(Value, Value)> rowsAt) {
  assert(layout == TileLayout::Padded && "stageTile writes padded tiles");
  int64_t vectorsPerRow = headDim / 8;
  Value dst = tile(slot);
  for (int64_t i = 0; i < kTileRows * vectorsPerRow / kThreads; ++i) {
    Value index = k.add(thread, i * kThreads);
    Value row = k.div(index, vectorsPerRow);
    Value column = k.mul(k.rem(index, vectorsPerRow), 8);
    Value narrow = arith::TruncFOp::create(b, VectorType::get({8}, element),
                                           rowsAt(row, column));
    vector::StoreOp::create(b, narrow, dst, ValueRange{row, column});
  }
}

void TileEmitter::storeRow(const Accumulators &acc, int64_t r, double factor,
                           Value dst, Value head, Value row) {
  for (size_t j = 0; j < acc.size(); ++j) {
    Value pair = vector::FromElementsOp::create(
        b, VectorType::get({2}, b.getF32Type()),
        ValueRange{k.fmul(acc[j][2 * r], k.f32(factor)),
                   k.fmul(acc[j][2 * r + 1], k.f32(factor))});
    vector::StoreOp::create(
        b, pair, dst,
        ValueRange{batchIndex, head, row, k.add(pairColumn, j * 8)});
  }
}

void TileEmitter::addRow(const Accumulators &acc, int64_t r, double factor,
                         Value dst, Value head, Value row) {
  for (size_t j = 0; j < acc.size(); ++j)
    for (int64_t e = 0; e < 2; ++e)
      memref::AtomicRMWOp::create(
          b, arith::AtomicRMWKind::addf,
          k.fmul(acc[j][2 * r + e], k.f32(factor)), dst,
          ValueRange{batchIndex, head, row, k.add(pairColumn, j * 8 + e)});
}

SmallVector<Value> TileEmitter::accumulatorsAsA(const Accumulators &acc,
                                                int64_t step) {
  SmallVector<Value> regs;
  for (int64_t half = 0; half < 2; ++half)
    for (int64_t r = 0; r < 2; ++r) {
      const SmallVector<Value, 4> &group = acc[2 * step + half];
      regs.push_back(k.pack(group[2 * r], group[2 * r + 1], element));
    }
  return regs;
}

Accumulators TileEmitter::zeros(int64_t groups) {
  Value zero = k.f32(0.0);
  return Accumulators(groups, {zero, zero, zero, zero});
}

void TileEmitter::flatten(const Accumulators &acc,
                          SmallVectorImpl<Value> &out) {
  for (const SmallVector<Value, 4> &group : acc)
    out.append(group.begin(), group.end());
}

Accumulators TileEmitter::unflatten(ValueRange values) {
  Accumulators acc;
  for (size_t i = 0; i < values.size(); i += 4)
    acc.emplace_back(values.slice(i, 4));
  return acc;
}

} // namespace mlir::dash::nvgpu_kernels
