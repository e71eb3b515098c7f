//===- Strided.cpp - Tensors with element strides -------------------------===//
//
// Compiled functions take dense row-major buffers: strided tensors are
// checked, then packed into and unpacked from dense temporaries.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include "dash/Runtime/CudaRuntime.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstring>

namespace dash::capi {

std::string checkStrides(const char *function, const char *name,
                         llvm::ArrayRef<int64_t> shape,
                         const int64_t *strides) {
  if (!strides)
    return "";
  llvm::ArrayRef<int64_t> given(strides, shape.size());
  auto problem = [&](const llvm::Twine &why) {
    return llvm::formatv(
               "{0}: {1}_strides [{2:$[, ]}] for shape [{3:$[, ]}]: "
               "{4}",
               function, name, llvm::make_range(given.begin(), given.end()),
               llvm::make_range(shape.begin(), shape.end()), why.str())
        .str();
  };
  for (auto [dim, stride] : llvm::enumerate(given))
    if (stride < 0)
      return problem(
          llvm::formatv("the stride of dimension {0} is negative", dim));
  if (llvm::is_contained(shape, 0))
    return "";
  // Inside out, each dimension (of size > 1) must step past every element
  // the dimensions inside it span.
  llvm::SmallVector<size_t> dims;
  for (size_t dim = 0; dim < shape.size(); ++dim)
    if (shape[dim] > 1)
      dims.push_back(dim);
  llvm::stable_sort(dims,
                    [&](size_t a, size_t b) { return given[a] < given[b]; });
  int64_t span = 1;
  for (size_t dim : dims) {
    if (given[dim] < span)
      return problem(llvm::formatv(
          "elements overlap: dimension {0} (size {1}) has stride {2}, but "
          "the dimensions inside it span {3} elements",
          dim, shape[dim], given[dim], span));
    int64_t last;
    if (__builtin_mul_overflow(given[dim], shape[dim] - 1, &last) ||
        __builtin_add_overflow(last, span, &span))
      return problem("the tensor's extent overflows 64 bits");
  }
  return "";
}

/// Row-major strides of `shape`.
static llvm::SmallVector<int64_t> denseStrides(llvm::ArrayRef<int64_t> shape) {
  llvm::SmallVector<int64_t> strides(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

bool isContiguous(llvm::ArrayRef<int64_t> shape, const int64_t *strides) {
  if (!strides || llvm::is_contained(shape, 0))
    return true;
  llvm::SmallVector<int64_t> dense = denseStrides(shape);
  // The stride of a dimension of size 1 never moves.
  for (size_t dim = 0; dim < shape.size(); ++dim)
    if (shape[dim] != 1 && strides[dim] != dense[dim])
      return false;
  return true;
}

std::string copyStrided(const Scratch &scratch, void *dst,
                        const int64_t *dstStrides, const void *src,
                        const int64_t *srcStrides,
                        llvm::ArrayRef<int64_t> shape, size_t elementSize) {
  if (llvm::is_contained(shape, 0))
    return "";
  llvm::SmallVector<int64_t> dense = denseStrides(shape);
  llvm::ArrayRef<int64_t> to = dstStrides
                                   ? llvm::ArrayRef(dstStrides, shape.size())
                                   : llvm::ArrayRef<int64_t>(dense);
  llvm::ArrayRef<int64_t> from = srcStrides
                                     ? llvm::ArrayRef(srcStrides, shape.size())
                                     : llvm::ArrayRef<int64_t>(dense);
  // The unit of one copy is a 2-D block of rows: rows of the innermost
  // dimension when both layouts keep it contiguous, else single elements
  // along it.
  size_t rank = shape.size();
  bool rowsContiguous = rank > 0 && to[rank - 1] == 1 && from[rank - 1] == 1;
  size_t width = elementSize, height = 1, dstPitch = 0, srcPitch = 0;
  size_t outer = rank;
  if (rowsContiguous) {
    width *= shape[rank - 1];
    outer = rank - 1;
    if (rank >= 2) {
      outer = rank - 2;
      height = shape[rank - 2];
      dstPitch = to[rank - 2] * elementSize;
      srcPitch = from[rank - 2] * elementSize;
    }
  } else if (rank > 0) {
    outer = rank - 1;
    height = shape[rank - 1];
    dstPitch = to[rank - 1] * elementSize;
    srcPitch = from[rank - 1] * elementSize;
  }
  // Every index of the outer dimensions, last fastest.
  llvm::SmallVector<int64_t> index(outer, 0);
  while (true) {
    int64_t dstOffset = 0, srcOffset = 0;
    for (size_t dim = 0; dim < outer; ++dim) {
      dstOffset += index[dim] * to[dim];
      srcOffset += index[dim] * from[dim];
    }
    char *dstBlock = static_cast<char *>(dst) + dstOffset * elementSize;
    const char *srcBlock =
        static_cast<const char *>(src) + srcOffset * elementSize;
    if (scratch.device()) {
      if (std::string error = cuda::copy2D(dstBlock, dstPitch, srcBlock,
                                           srcPitch, width, height);
          !error.empty())
        return error;
    } else {
      for (size_t row = 0; row < height; ++row)
        std::memcpy(dstBlock + row * dstPitch, srcBlock + row * srcPitch,
                    width);
    }
    size_t dim = outer;
    while (dim > 0 && ++index[dim - 1] == shape[dim - 1])
      index[--dim] = 0;
    if (dim == 0)
      return "";
  }
}

} // namespace dash::capi
