//===- Attention.h - Attention configurations and their modules --*- C++
//-*-===//
//
// An attention configuration (shapes, element type, attributes) is what users
// compile. It maps to a module holding one function around dash.attention.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_JIT_ATTENTION_H
#define DASH_JIT_ATTENTION_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::dash {
class AttentionOp;
} // namespace mlir::dash

namespace dash {

/// Element types of tensors exchanged with compiled functions. bf16 and f16
/// are stored as their 16-bit patterns.
enum class ElementType { F32, F64, BF16, F16, I32, I1 };

/// Bytes per element as stored in host buffers (i1 as one byte).
size_t elementSize(ElementType type);
const char *elementTypeName(ElementType type);
/// The element type named `name` (elementTypeName's spelling).
std::optional<ElementType> parseElementType(llvm::StringRef name);

enum class Prior { Raw, Centered, Flat };
const char *priorName(Prior prior);

/// Everything that defines one compiled attention: shapes, the element type
/// of Q, K, V (and W, O), and the dash.attention attributes.
struct AttentionConfig {
  int64_t batch = 1, heads = 1, kvHeads = 1, seqLen = 64, headDim = 64;
  int64_t blockSize = 64;
  double alpha = 1.5, gamma = 1.0, sigma = 1.0;
  Prior prior = Prior::Centered;
  int64_t localBlocks = 0, initBlocks = 0;
  /// Softmax scale; 1/sqrt(headDim) when unset.
  std::optional<double> scale;
  /// Whether the learned summary query W [Hkv, D] is an input.
  bool withSummaryQuery = false;
  /// False is the spec's router_grad = none: the backward pass stops the
  /// gradient at the pooled router probabilities.
  bool routerGrad = true;
  ElementType dtype = ElementType::F32;

  /// Empty when valid, otherwise what is wrong, in the verifier's words.
  std::string validate() const;
  /// A one-line description, also usable as a cache key.
  std::string str() const;
};

/// Shape and element type of one argument or result of a compiled function.
struct TensorSpec {
  std::vector<int64_t> shape;
  ElementType type = ElementType::F32;
  int64_t numElements() const;
  size_t numBytes() const { return numElements() * elementSize(type); }
};

/// Argument and result specs of the attention function: inputs q, k, v and,
/// with W, w; results o [B, H, N, D], lse [B, H, N] f32 and counts
/// [B, Hkv, N] i32.
std::vector<TensorSpec> attentionInputs(const AttentionConfig &config);
std::vector<TensorSpec> attentionOutputs(const AttentionConfig &config);

/// Inputs q, k, v[, w], dO and results dQ, dK, dV[, dW] of the gradient
/// function (all in the config's element type).
std::vector<TensorSpec> attentionGradInputs(const AttentionConfig &config);
std::vector<TensorSpec> attentionGradOutputs(const AttentionConfig &config);

/// Builds `func.func @<entry>(q, k, v[, w]) -> (o, lse, counts)` around one
/// dash.attention (tensor semantics, static shapes).
mlir::OwningOpRef<mlir::ModuleOp>
buildAttentionModule(mlir::MLIRContext &context, const AttentionConfig &config,
                     llvm::StringRef entry = "attention");

/// Builds `func.func @<entry>(q, k, v[, w], dO) -> (dQ, dK, dV[, dW])`: the
/// forward dash.attention (for O and LSE) followed by dash.attention_grad.
mlir::OwningOpRef<mlir::ModuleOp>
buildAttentionGradModule(mlir::MLIRContext &context,
                         const AttentionConfig &config,
                         llvm::StringRef entry = "attention_grad");

/// Reads the configuration back from a dash.attention whose operands have
/// static shapes (for runners given a .mlir file).
llvm::Expected<AttentionConfig> configFromOp(mlir::dash::AttentionOp op);

} // namespace dash

#endif // DASH_JIT_ATTENTION_H
