//===- TensorToBuffers.h - Pipeline steps shared by all targets --*- C++
//-*-===//

#ifndef DASH_LIB_PIPELINES_TENSORTOBUFFERS_H
#define DASH_LIB_PIPELINES_TENSORTOBUFFERS_H

namespace mlir {
class OpPassManager;
namespace dash {

struct TensorToBuffersOptions {
  /// Run dash-differentiate first.
  bool differentiate = true;
  /// Fuse elementwise linalg ops before bufferization.
  bool fuseElementwise = false;
  /// Turn returned buffers into out-parameters.
  bool resultsToOutParams = false;
  /// Turn eligible dash.sparse_attention ops into
  /// dash.sparse_attention_kernel (dash-sparse-attention-to-kernel) instead
  /// of linalg.
  bool tensorCoreKernels = false;
};

/// dash ops on tensors to bufferized linalg: differentiation, decomposition,
/// the GPU kernels, dash-to-linalg, one-shot bufferization, deallocation, and
/// memref.copy as linalg.copy, as `options` select.
void addTensorToBuffers(OpPassManager &pm,
                        const TensorToBuffersOptions &options);

} // namespace dash
} // namespace mlir

#endif // DASH_LIB_PIPELINES_TENSORTOBUFFERS_H
