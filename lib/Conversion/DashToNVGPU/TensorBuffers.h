//===- TensorBuffers.h - Kernel ops on buffers amid tensors ----*- C++ -*-===//
//
// The bridge that the *-to-kernel passes build before bufferization: a
// kernel op on buffers reads its tensor operands through read-only buffers
// and writes fresh buffers that return to tensors, so that one-shot
// bufferization and buffer deallocation treat it like any other op.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_LIB_CONVERSION_DASHTONVGPU_TENSORBUFFERS_H
#define DASH_LIB_CONVERSION_DASHTONVGPU_TENSORBUFFERS_H

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::dash {

/// The identity-layout memref type of a ranked tensor value.
inline MemRefType bufferTypeOf(Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  return MemRefType::get(type.getShape(), type.getElementType());
}

/// `tensor` as a read-only buffer.
inline Value readOnlyBuffer(OpBuilder &b, Location loc, Value tensor) {
  return bufferization::ToBufferOp::create(b, loc, bufferTypeOf(tensor), tensor,
                                           /*read_only=*/true);
}

/// A fresh buffer shaped like `tensor`, for a kernel's result.
inline Value resultBuffer(OpBuilder &b, Location loc, Value tensor) {
  return memref::AllocOp::create(b, loc, bufferTypeOf(tensor));
}

/// A kernel's result `buffer` as a tensor of `like`'s type (restrict: no
/// other tensor aliases it).
inline Value resultTensor(OpBuilder &b, Location loc, Value buffer,
                          Value like) {
  return bufferization::ToTensorOp::create(b, loc, like.getType(), buffer,
                                           /*restrict=*/true,
                                           /*writable=*/true);
}

} // namespace mlir::dash

#endif // DASH_LIB_CONVERSION_DASHTONVGPU_TENSORBUFFERS_H
