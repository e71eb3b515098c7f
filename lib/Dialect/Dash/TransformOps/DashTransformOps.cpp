//===- DashTransformOps.cpp - Transform dialect extension ----------------===//
//
// The ops reuse the public pattern sets of the passes, so a transform script
// and the pass pipeline rewrite dash ops identically.
//
//===----------------------------------------------------------------------===//

#include "dash/Dialect/Dash/TransformOps/DashTransformOps.h"

#include "dash/Conversion/Passes.h"
#include "dash/Dialect/Dash/IR/Dash.h"
#include "dash/Dialect/Dash/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;
using namespace mlir::dash;

/// Applies `patterns` to the ops nested in `target`, leaving `target` itself
/// alone, as `transform.apply_patterns` does. The rewriter's listener is the
/// interpreter's tracking listener, so handles to rewritten ops stay correct.
static DiagnosedSilenceableFailure
applyToNestedOps(transform::TransformOpInterface transformOp,
                 transform::TransformRewriter &rewriter, Operation *target,
                 RewritePatternSet &&patterns) {
  if (target->isAncestor(transformOp)) {
    DiagnosedDefiniteFailure diag =
        transformOp.emitDefiniteFailure()
        << "cannot apply to an ancestor of the transform script";
    diag.attachNote(target->getLoc()) << "target payload op";
    return diag;
  }
  // A dash op has nothing nested: the user most likely meant its function.
  if (isa<DashDialect>(target->getDialect())) {
    DiagnosedSilenceableFailure diag =
        transformOp.emitSilenceableError()
        << "expects ops that contain dash ops (e.g. functions), not a dash op";
    diag.attachNote(target->getLoc()) << "target payload op";
    return diag;
  }

  GreedyRewriteConfig config;
  config.setListener(
      static_cast<RewriterBase::Listener *>(rewriter.getListener()));
  FrozenRewritePatternSet frozen(std::move(patterns));
  LogicalResult result = failure();
  if (target->hasTrait<OpTrait::IsIsolatedFromAbove>()) {
    result = applyPatternsGreedily(target, frozen, config);
  } else {
    SmallVector<Operation *> ops;
    target->walk([&](Operation *nested) {
      if (nested != target)
        ops.push_back(nested);
    });
    result = applyOpPatternsGreedily(ops, frozen, config);
  }
  if (failed(result))
    return emitSilenceableFailure(target)
           << "greedy pattern application did not converge";
  return DiagnosedSilenceableFailure::success();
}

//===----------------------------------------------------------------------===//
// DashDecomposeOp
//===----------------------------------------------------------------------===//

DiagnosedSilenceableFailure transform::DashDecomposeOp::applyToOne(
    transform::TransformRewriter &rewriter, Operation *target,
    transform::ApplyToEachResultList &results,
    transform::TransformState &state) {
  RewritePatternSet patterns(getContext());
  populateDecomposeAttentionPatterns(patterns);
  return applyToNestedOps(*this, rewriter, target, std::move(patterns));
}

void transform::DashDecomposeOp::getEffects(
    SmallVectorImpl<MemoryEffects::EffectInstance> &effects) {
  onlyReadsHandle(getTargetMutable(), effects);
  modifiesPayload(effects);
}

//===----------------------------------------------------------------------===//
// DashLowerToLinalgOp
//===----------------------------------------------------------------------===//

/// The first dash op nested in `target` that satisfies `pred`.
static Operation *findDashOp(Operation *target,
                             function_ref<bool(Operation *)> pred) {
  Operation *found = nullptr;
  target->walk([&](Operation *op) {
    if (!isa<DashDialect>(op->getDialect()) || !pred(op))
      return WalkResult::advance();
    found = op;
    return WalkResult::interrupt();
  });
  return found;
}

DiagnosedSilenceableFailure transform::DashLowerToLinalgOp::applyToOne(
    transform::TransformRewriter &rewriter, Operation *target,
    transform::ApplyToEachResultList &results,
    transform::TransformState &state) {
  // The lowering patterns assume static shapes (as dash-to-linalg checks).
  if (Operation *dynamic = findDashOp(target, [](Operation *op) {
        return llvm::any_of(
            llvm::concat<Type>(op->getOperandTypes(), op->getResultTypes()),
            [](Type type) {
              auto tensor = dyn_cast<RankedTensorType>(type);
              return tensor && !tensor.hasStaticShape();
            });
      })) {
    DiagnosedSilenceableFailure diag = emitSilenceableError()
                                       << "dash ops need static shapes";
    diag.attachNote(dynamic->getLoc()) << "dynamic shape here";
    return diag;
  }

  RewritePatternSet patterns(getContext());
  populateDecomposeAttentionPatterns(patterns);
  populateDashToLinalgPatterns(patterns);
  DiagnosedSilenceableFailure applied =
      applyToNestedOps(*this, rewriter, target, std::move(patterns));
  if (!applied.succeeded())
    return applied;

  if (Operation *left = findDashOp(target, [](Operation *) { return true; })) {
    DiagnosedSilenceableFailure diag = emitSilenceableError()
                                       << "a dash op could not be lowered";
    diag.attachNote(left->getLoc()) << "not lowered";
    return diag;
  }
  return DiagnosedSilenceableFailure::success();
}

void transform::DashLowerToLinalgOp::getEffects(
    SmallVectorImpl<MemoryEffects::EffectInstance> &effects) {
  onlyReadsHandle(getTargetMutable(), effects);
  modifiesPayload(effects);
}

//===----------------------------------------------------------------------===//
// Extension
//===----------------------------------------------------------------------===//

#define GET_OP_CLASSES
#include "dash/Dialect/Dash/TransformOps/DashTransformOps.cpp.inc"

namespace {
class DashTransformDialectExtension
    : public transform::TransformDialectExtension<
          DashTransformDialectExtension> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(DashTransformDialectExtension)

  using Base::Base;

  void init() {
    // The dialects of the ops the rewrites create.
    declareGeneratedDialect<arith::ArithDialect>();
    declareGeneratedDialect<linalg::LinalgDialect>();
    declareGeneratedDialect<math::MathDialect>();
    declareGeneratedDialect<scf::SCFDialect>();
    declareGeneratedDialect<tensor::TensorDialect>();

    registerTransformOps<
#define GET_OP_LIST
#include "dash/Dialect/Dash/TransformOps/DashTransformOps.cpp.inc"
        >();
  }
};
} // namespace

void mlir::dash::registerTransformDialectExtension(DialectRegistry &registry) {
  registry.addExtensions<DashTransformDialectExtension>();
}
