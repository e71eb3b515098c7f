//===- TensorToBuffers.h - Pipeline steps shared by all targets --*- C++
//-*-===//

#ifndef DASH_LIB_PIPELINES_TENSORTOBUFFERS_H
#define DASH_LIB_PIPELINES_TENSORTOBUFFERS_H

namespace mlir {
class OpPassManager;
namespace dash {

/// dash ops on tensors to bufferized linalg: differentiation (optional),
/// decomposition, dash-to-linalg, one-shot bufferization with results as
/// out-parameters (optional), deallocation, and memref.copy as linalg.copy.
void addTensorToBuffers(OpPassManager &pm, bool differentiate,
                        bool fuseElementwise, bool resultsToOutParams);

} // namespace dash
} // namespace mlir

#endif // DASH_LIB_PIPELINES_TENSORTOBUFFERS_H
