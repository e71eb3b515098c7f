//===- TileEmitter.h - Shared-memory tiles and mma fragments ----*- C++ -*-===//
//
// What the fine attention and its two gradient kernels share: one CTA of
// four warps, 64 x D tiles of 16-bit rows in dynamic shared memory (rows
// padded by 8 elements so that the 8 rows an ldmatrix reads fall in distinct
// banks) filled by cp.async, and the ldmatrix fragments of the m16n8k16 mma
// operands. Fragment layouts are PTX's: lane l holds accumulator rows l/4
// and l/4 + 8, columns 2 (l % 4) and 2 (l % 4) + 1 of each 8-column tile,
// which is also the layout of the A operand, so an accumulator becomes an A
// operand without touching shared memory.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_LIB_CONVERSION_DASHTONVGPU_TILEEMITTER_H
#define DASH_LIB_CONVERSION_DASHTONVGPU_TILEEMITTER_H

#include "KernelBuilder.h"
#include "Kernels.h"

namespace mlir::dash::nvgpu_kernels {

constexpr double kLog2E = 1.4426950408889634;
constexpr double kLn2 = 0.6931471805599453;

/// The accumulators of a warp's 16 x (8 n) mma tile: n groups of 4 f32.
using Accumulators = SmallVector<SmallVector<Value, 4>>;

/// How a tile lies in shared memory: padded rows for ldmatrix, or the
/// 128-byte-swizzled layout that warpgroup mma descriptors read: D / 64
/// column halves of 64 rows x 128 bytes, one after the other, the 16-byte
/// chunk c of row r stored at chunk c ^ (r % 8) (every 1024-byte group of
/// 8 rows aligned to 1024 bytes).
enum class TileLayout { Padded, Swizzled };

class TileEmitter : protected QueryShape {
protected:
  TileEmitter(ImplicitLocOpBuilder &b, Value query,
              TileLayout layout = TileLayout::Padded);

  /// Whether the tiles are laid out for (and multiplied by) warpgroup mma.
  bool warpgroup() const { return layout == TileLayout::Swizzled; }

  /// Creates the gpu.launch of 128 threads with `tiles` shared tiles
  /// followed by `extraBytes` of f32 arrays, moves the insertion point into
  /// its body (the caller holds an insertion guard) and defines the lane
  /// values below. A nonzero `minCtasPerSM` asks ptxas to leave room for
  /// that many resident CTAs (kMinCtasPerSMAttrName).
  void beginKernel(StringRef name, ArrayRef<int64_t> grid, int64_t tiles,
                   int64_t extraBytes, int64_t minCtasPerSM = 0);

  /// Shared tile `slot` (64 x D): [64][D + 8] padded, or [D][64] swizzled
  /// (column half h of row r in rows 64 h + r).
  Value tile(Value slot);
  Value tile(int64_t slot) { return tile(k.idx(slot)); }
  /// Where element (row, column) of a tile lies in its view; `column` is a
  /// multiple of 8 (a 16-byte chunk) or `column % 8` is added after.
  std::pair<Value, Value> tileIndices(Value row, Value column);
  /// `count` f32 in shared memory `offset` bytes after the tiles.
  Value sharedFloats(Value offset, int64_t count);
  /// A `shape` array of `elementType` `byteOffset` bytes from the start of
  /// the tiles.
  Value sharedView(Type elementType, ArrayRef<int64_t> shape, Value byteOffset);
  /// Bytes from the start of the tiles to what follows them.
  int64_t afterTiles() const { return tileCount * tileBytes; }
  /// The wgmma descriptor of the swizzled matrix `byteOffset` bytes into the
  /// tiles, with the given leading and stride byte offsets.
  Value matrixDescriptor(Value byteOffset, int64_t leadingBytes,
                         int64_t strideBytes);
  /// The descriptor of k-step `step` (16 columns) of the swizzled tile at
  /// `byteOffset` read K-major (rows are M or N), from row `row` (a
  /// multiple of 8) on.
  Value kMajorStep(Value byteOffset, int64_t step, int64_t row = 0);
  /// The descriptor of k-step `step` (16 rows) of the swizzled tile at
  /// `byteOffset` read MN-major (rows are K, columns N).
  Value mnMajorStep(Value byteOffset, int64_t step);
  /// One product of warpgroupMma: acc (+)= sum_s A_s B_s
  /// (KernelBuilder::WarpgroupProduct).
  struct WarpgroupProduct {
    Accumulators &acc;
    SmallVector<KernelBuilder::WarpgroupOperands> steps;
    bool bMnMajor = false, accumulate = false;
  };
  /// The products in one wgmma group: independent ones overlap. Unless
  /// `wait`, the accumulators are not to be read before a warpgroupWait.
  void warpgroupMma(ArrayRef<WarpgroupProduct> products, bool wait = true);
  /// One product in its own group.
  void warpgroupMma(Accumulators &acc,
                    ArrayRef<KernelBuilder::WarpgroupOperands> steps,
                    bool bMnMajor, bool accumulate, bool wait = true) {
    warpgroupMma({{acc, llvm::to_vector(steps), bMnMajor, accumulate}}, wait);
  }
  /// Stores the warp's 16 x 64 accumulators, rounded to the 16-bit type,
  /// into the swizzled 64 x 64 tile at `byteOffset`: the A operand of
  /// addStagedProduct once every thread has stored its part and passed a
  /// proxy fence and a barrier.
  void storeSwizzled(const Accumulators &acc, Value byteOffset);
  /// acc += A B by warpgroup mma, A the 64 x 64 tile storeSwizzled at
  /// `aBytes`, B the 64 x D tile at `bBytes` read MN-major (its rows are K);
  /// `wait` as for warpgroupMma.
  void addStagedProduct(Accumulators &acc, Value aBytes, Value bBytes,
                        bool wait = true);

  /// What the rows of a tile hold: row r is token `tokenBase + r % tokens`
  /// of head `headBase + r / tokens` (TilePacking); a K or V block is 64
  /// tokens of one head.
  struct TileRows {
    Value headBase, tokenBase;
    int64_t tokens = kTileRows;
  };
  Value headOf(const TileRows &rows, Value row);
  Value tokenOf(const TileRows &rows, Value row);
  /// The rows of tile `tileIndex` of `chunk` (KV head times
  /// TilePacking::chunks plus the head chunk), and the chunk's KV head.
  TileRows packedRows(const TilePacking &packing, Value tileIndex, Value chunk,
                      Value &kvHead);

  /// cp.async of the 64 rows `rows` of `source[batch]` ([B, heads, N, D])
  /// into `tile`; tokens past N are zero-filled and never read from global
  /// memory.
  void copyRows(Value source, const TileRows &rows, Value tile,
                SmallVectorImpl<Value> &tokens);
  /// cp.async of one f32 `source[indices]` into `dst[position]`, or a zero
  /// where `inside` is false.
  void copyFloat(Value source, ValueRange indices, Value inside, Value dst,
                 Value position, SmallVectorImpl<Value> &tokens);
  Value commit(ValueRange tokens);
  /// Waits until at most `pending` groups are in flight, then a barrier
  /// (after a proxy fence where warpgroup mma reads the tiles).
  void waitAndSync(Value group, int32_t pending);
  /// Commits an asynchronous copy group built by `copies` when `condition`
  /// holds, an empty one otherwise (so that group counting stays uniform).
  Value commitIf(Value condition,
                 function_ref<void(SmallVectorImpl<Value> &)> copies);

  /// The length `counts[batch, head, owner]` of a list, as an index.
  Value listLength(Value counts, Value head, Value owner);
  /// Entry `position` of `lists[batch, head, owner, :]` as an index,
  /// clamped to `last` (entries past the list's count are not initialised).
  Value listEntry(Value lists, Value head, Value owner, Value position,
                  int64_t last);

  /// A operand (4 registers) of the warp's rows 16 warp .. +15, columns
  /// `column .. +15` of the row-major tile in `slot`.
  SmallVector<Value> aOperand(Value slot, int64_t column);
  /// acc += A * B^T where the B tile in `bSlot` is stored [n][k]: n columns
  /// `nBase .. nBase + 8 acc.size()`, k = 16 kSteps; `a(s)` is the A operand
  /// of k-step s.
  void mmaTransposedB(Accumulators &acc,
                      function_ref<SmallVector<Value>(int64_t)> a, Value bSlot,
                      int64_t nBase, int64_t kSteps);
  /// acc += A * B where the B tile in `bSlot` is stored [k][n]: k rows
  /// `kBase .. kBase + 16 kSteps`, n columns `0 .. 8 acc.size()`.
  void mmaB(Accumulators &acc, function_ref<SmallVector<Value>(int64_t)> a,
            Value bSlot, int64_t kBase, int64_t kSteps);
  /// A operand whose f32 element at (m, k) of the 16 x 16 tile is
  /// `elementAt(m, k)` (rounded to the 16-bit type).
  SmallVector<Value> aOperandOf(function_ref<Value(Value, Value)> elementAt);
  /// Fills the tile in `slot` (64 rows) with `rowsAt(row, column)`, a
  /// vector<8xf32> of columns `column .. +7`, rounded to the 16-bit type.
  void stageTile(Value slot, function_ref<Value(Value, Value)> rowsAt);
  /// Stores the f32 accumulators of the lane's row `r` (times `factor`)
  /// into `dst[batch, head, row, :]`.
  void storeRow(const Accumulators &acc, int64_t r, double factor, Value dst,
                Value head, Value row);
  /// Adds the lane's row `r` of `acc` (times `factor`) atomically to
  /// `dst[batch, head, row, :]`.
  void addRow(const Accumulators &acc, int64_t r, double factor, Value dst,
              Value head, Value row);
  /// The A operand of k-step `step` from accumulators (16-bit).
  SmallVector<Value> accumulatorsAsA(const Accumulators &acc, int64_t step);
  /// `groups` accumulator groups of zeros.
  Accumulators zeros(int64_t groups);
  /// Accumulators as loop-carried values and back.
  static void flatten(const Accumulators &acc, SmallVectorImpl<Value> &out);
  static Accumulators unflatten(ValueRange values);

  /// K and V rows of `block` of KV head `kvHead` into `keyTile` and
  /// `valueTile`.
  void copyKeyValue(Value key, Value value, Value kvHead, Value block,
                    Value keyTile, Value valueTile,
                    SmallVectorImpl<Value> &tokens) {
    TileRows rows{kvHead, k.mul(block, kTileRows)};
    copyRows(key, rows, keyTile, tokens);
    copyRows(value, rows, valueTile, tokens);
  }

  ImplicitLocOpBuilder &b;
  KernelBuilder k;
  TileLayout layout;
  int64_t rowStride, tileBytes, tileCount = 0;

  // Values of the kernel body.
  Value thread, lane, warp, shared, batchIndex;
  /// ldmatrix addressing: the 8 x 8 matrix a lane addresses and its row.
  Value matrixRow, lowHalf, highHalf;
  /// The first of the lane's two accumulator columns, and its rows l/4 and
  /// l/4 + 8 within the warp's 16.
  Value pairColumn, laneRow[2];

private:
  /// An ldmatrix.x4 of the tile in `slot` seen from `laneOffset` (bytes),
  /// at constant (row, column): the lane's part of the address is in the
  /// view's base, so that the constant part folds into the instruction and
  /// no per-fragment address stays live in a register.
  SmallVector<Value> loadMatrices(Value slot, Value laneOffset, int64_t row,
                                  int64_t column, bool transpose);
  /// Byte offsets of the lane's ldmatrix row: of an A operand of the warp's
  /// rows, of a [k][n] B tile (transposed load), of an [n][k] B tile.
  Value aLaneOffset, kMajorLaneOffset, nMajorLaneOffset;
  /// Where the tiles start in dynamic shared memory: 0 for padded tiles,
  /// the first 1024-byte boundary for swizzled ones; and, for those, as an
  /// address in the shared window (matrix descriptors).
  Value tileBase, tileAddress;
};

} // namespace mlir::dash::nvgpu_kernels

#endif // DASH_LIB_CONVERSION_DASHTONVGPU_TILEEMITTER_H
