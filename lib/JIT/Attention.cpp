//===- Attention.cpp - Attention configurations and their modules -------===//

#include "dash/JIT/Attention.h"
#include "dash/Dialect/Dash/IR/Dash.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

namespace dash {

size_t elementSize(ElementType type) {
  switch (type) {
  case ElementType::F64:
    return 8;
  case ElementType::F32:
  case ElementType::I32:
    return 4;
  case ElementType::BF16:
  case ElementType::F16:
    return 2;
  case ElementType::I1:
    return 1;
  }
  llvm_unreachable("unknown element type");
}

const char *elementTypeName(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return "f32";
  case ElementType::F64:
    return "f64";
  case ElementType::BF16:
    return "bf16";
  case ElementType::F16:
    return "f16";
  case ElementType::I32:
    return "i32";
  case ElementType::I1:
    return "i1";
  }
  llvm_unreachable("unknown element type");
}

std::optional<ElementType> parseElementType(StringRef name) {
  for (ElementType type :
       {ElementType::F32, ElementType::F64, ElementType::BF16, ElementType::F16,
        ElementType::I32, ElementType::I1})
    if (name == elementTypeName(type))
      return type;
  return std::nullopt;
}

const char *priorName(Prior prior) {
  switch (prior) {
  case Prior::Raw:
    return "raw";
  case Prior::Centered:
    return "centered";
  case Prior::Flat:
    return "flat";
  }
  llvm_unreachable("unknown prior");
}

int64_t TensorSpec::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

static Type toMLIR(Builder &b, ElementType type) {
  switch (type) {
  case ElementType::F32:
    return b.getF32Type();
  case ElementType::F64:
    return b.getF64Type();
  case ElementType::BF16:
    return b.getBF16Type();
  case ElementType::F16:
    return b.getF16Type();
  case ElementType::I32:
    return b.getI32Type();
  case ElementType::I1:
    return b.getI1Type();
  }
  llvm_unreachable("unknown element type");
}

static Prior fromMLIR(mlir::dash::PriorMode mode) {
  switch (mode) {
  case mlir::dash::PriorMode::Raw:
    return Prior::Raw;
  case mlir::dash::PriorMode::Centered:
    return Prior::Centered;
  case mlir::dash::PriorMode::Flat:
    return Prior::Flat;
  }
  llvm_unreachable("unknown prior");
}

static mlir::dash::PriorMode toMLIR(Prior prior) {
  switch (prior) {
  case Prior::Raw:
    return mlir::dash::PriorMode::Raw;
  case Prior::Centered:
    return mlir::dash::PriorMode::Centered;
  case Prior::Flat:
    return mlir::dash::PriorMode::Flat;
  }
  llvm_unreachable("unknown prior");
}

std::vector<TensorSpec> attentionInputs(const AttentionConfig &c) {
  std::vector<TensorSpec> specs = {
      {{c.batch, c.heads, c.seqLen, c.headDim}, c.dtype},
      {{c.batch, c.kvHeads, c.seqLen, c.headDim}, c.dtype},
      {{c.batch, c.kvHeads, c.seqLen, c.headDim}, c.dtype}};
  if (c.withSummaryQuery)
    specs.push_back({{c.kvHeads, c.headDim}, c.dtype});
  return specs;
}

std::vector<TensorSpec> attentionOutputs(const AttentionConfig &c) {
  return {{{c.batch, c.heads, c.seqLen, c.headDim}, c.dtype},
          {{c.batch, c.heads, c.seqLen}, ElementType::F32},
          {{c.batch, c.kvHeads, c.seqLen}, ElementType::I32}};
}

static RankedTensorType tensorType(Builder &b, const TensorSpec &spec) {
  return RankedTensorType::get(spec.shape, toMLIR(b, spec.type));
}

std::vector<TensorSpec> attentionGradInputs(const AttentionConfig &c) {
  std::vector<TensorSpec> specs = attentionInputs(c);
  specs.push_back(attentionOutputs(c)[0]);
  return specs;
}

std::vector<TensorSpec> attentionGradOutputs(const AttentionConfig &c) {
  return attentionInputs(c);
}

namespace {
/// A module with one function of the given signature, ready for its body.
struct FunctionBuilder {
  OwningOpRef<ModuleOp> module;
  OpBuilder b;
  Block *body = nullptr;
  SmallVector<Type> resultTypes;

  FunctionBuilder(MLIRContext &context, StringRef entry,
                  ArrayRef<TensorSpec> inputs, ArrayRef<TensorSpec> outputs)
      : b(&context) {
    context.loadDialect<mlir::dash::DashDialect, func::FuncDialect>();
    Location loc = b.getUnknownLoc();
    module = ModuleOp::create(b, loc);
    b.setInsertionPointToEnd(module->getBody());
    SmallVector<Type> argTypes;
    for (const TensorSpec &spec : inputs)
      argTypes.push_back(tensorType(b, spec));
    for (const TensorSpec &spec : outputs)
      resultTypes.push_back(tensorType(b, spec));
    auto func = func::FuncOp::create(b, loc, entry,
                                     b.getFunctionType(argTypes, resultTypes));
    body = func.addEntryBlock();
    b.setInsertionPointToEnd(body);
  }

  /// dash.attention on the first arguments, with LSE and counts.
  mlir::dash::AttentionOp attention(const AttentionConfig &c) {
    MLIRContext *context = b.getContext();
    std::vector<TensorSpec> outs = attentionOutputs(c);
    Value w = c.withSummaryQuery ? body->getArgument(3) : Value();
    return mlir::dash::AttentionOp::create(
        b, b.getUnknownLoc(), tensorType(b, outs[0]), tensorType(b, outs[1]),
        tensorType(b, outs[2]), body->getArgument(0), body->getArgument(1),
        body->getArgument(2), w, b.getF64FloatAttr(c.alpha),
        b.getI64IntegerAttr(c.blockSize), b.getF64FloatAttr(c.gamma),
        b.getF64FloatAttr(c.sigma),
        mlir::dash::PriorModeAttr::get(context, toMLIR(c.prior)),
        b.getI64IntegerAttr(c.localBlocks), b.getI64IntegerAttr(c.initBlocks),
        c.scale ? b.getF64FloatAttr(*c.scale) : FloatAttr(),
        mlir::dash::RouterGradAttr::get(
            context, c.routerGrad ? mlir::dash::RouterGrad::Full
                                  : mlir::dash::RouterGrad::None));
  }

  OwningOpRef<ModuleOp> finish(ValueRange results) {
    func::ReturnOp::create(b, b.getUnknownLoc(), results);
    return std::move(module);
  }
};
} // namespace

OwningOpRef<ModuleOp> buildAttentionModule(MLIRContext &context,
                                           const AttentionConfig &c,
                                           StringRef entry) {
  FunctionBuilder f(context, entry, attentionInputs(c), attentionOutputs(c));
  return f.finish(f.attention(c).getResults());
}

OwningOpRef<ModuleOp> buildAttentionGradModule(MLIRContext &context,
                                               const AttentionConfig &c,
                                               StringRef entry) {
  std::vector<TensorSpec> inputs = attentionGradInputs(c);
  FunctionBuilder f(context, entry, inputs, attentionGradOutputs(c));
  mlir::dash::AttentionOp forward = f.attention(c);
  Value w = c.withSummaryQuery ? f.body->getArgument(3) : Value();
  auto grad = mlir::dash::AttentionGradOp::create(
      f.b, forward.getLoc(), f.resultTypes[0], f.resultTypes[1],
      f.resultTypes[2], w ? f.resultTypes[3] : Type(), forward.getQuery(),
      forward.getKey(), forward.getValue(), w, forward.getOutput(),
      forward.getLse(), f.body->getArgument(inputs.size() - 1),
      forward.getAlphaAttr(), forward.getBlockSizeAttr(),
      forward.getGammaAttr(), forward.getSigmaAttr(),
      forward.getPriorModeAttr(), forward.getLocalBlocksAttr(),
      forward.getInitBlocksAttr(), forward.getScaleAttr(),
      forward.getRouterGradAttr());
  return f.finish(grad.getResults());
}

std::string AttentionConfig::validate() const {
  for (auto [name, size] : {std::pair<const char *, int64_t>{"batch", batch},
                            {"heads", heads},
                            {"kv heads", kvHeads},
                            {"sequence length", seqLen},
                            {"head dim", headDim}})
    if (size < 1)
      return llvm::formatv("{0} must be >= 1, got {1}", name, size).str();
  if (dtype != ElementType::F32 && dtype != ElementType::BF16 &&
      dtype != ElementType::F16 && dtype != ElementType::F64)
    return std::string("unsupported element type ") + elementTypeName(dtype);
  // Callers size host buffers with TensorSpec::numBytes, which must not wrap.
  for (const TensorSpec &spec : attentionOutputs(*this)) {
    int64_t bytes = static_cast<int64_t>(elementSize(spec.type));
    for (int64_t size : spec.shape)
      if (__builtin_mul_overflow(bytes, size, &bytes))
        return llvm::formatv(
                   "tensors of shape [{0:$[, ]}] are too large: "
                   "their size in bytes overflows 64 bits",
                   llvm::make_range(spec.shape.begin(), spec.shape.end()))
            .str();
  }
  // Everything else is the op verifier's job: build the op and report its
  // diagnostic, so the API and the IR reject exactly the same things.
  MLIRContext context;
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    if (message.empty())
      message = diag.str();
    return success();
  });
  OwningOpRef<ModuleOp> module = buildAttentionModule(context, *this);
  if (failed(verify(*module)))
    return message.empty() ? "invalid attention configuration" : message;
  return "";
}

std::string AttentionConfig::str() const {
  return llvm::formatv("B={0} H={1} Hkv={2} N={3} D={4} block={5} "
                       "alpha={6} gamma={7} sigma={8} prior={9} local={10} "
                       "init={11} scale={12} w={13} dtype={14} "
                       "router_grad={15}",
                       batch, heads, kvHeads, seqLen, headDim, blockSize, alpha,
                       gamma, sigma, priorName(prior), localBlocks, initBlocks,
                       scale ? llvm::formatv("{0}", *scale).str() : "default",
                       withSummaryQuery ? 1 : 0, elementTypeName(dtype),
                       routerGrad ? "full" : "none")
      .str();
}

llvm::Expected<AttentionConfig> configFromOp(mlir::dash::AttentionOp op) {
  auto query = cast<RankedTensorType>(op.getQuery().getType());
  auto key = cast<RankedTensorType>(op.getKey().getType());
  if (!query.hasStaticShape() || !key.hasStaticShape())
    return llvm::createStringError("dash.attention at " +
                                   llvm::formatv("{0}", op.getLoc()).str() +
                                   " needs static shapes");
  AttentionConfig c;
  c.batch = query.getDimSize(0);
  c.heads = query.getDimSize(1);
  c.seqLen = query.getDimSize(2);
  c.headDim = query.getDimSize(3);
  c.kvHeads = key.getDimSize(1);
  c.blockSize = op.getBlockSize();
  c.alpha = op.getAlpha().convertToDouble();
  c.gamma = op.getGamma().convertToDouble();
  c.sigma = op.getSigma().convertToDouble();
  c.prior = fromMLIR(op.getPriorMode());
  c.localBlocks = op.getLocalBlocks();
  c.initBlocks = op.getInitBlocks();
  if (FloatAttr scale = op.getScaleAttr())
    c.scale = scale.getValueAsDouble();
  c.withSummaryQuery = static_cast<bool>(op.getSummaryQuery());
  c.routerGrad = op.getRouterGrad() == mlir::dash::RouterGrad::Full;
  Type element = query.getElementType();
  if (element.isF32())
    c.dtype = ElementType::F32;
  else if (element.isBF16())
    c.dtype = ElementType::BF16;
  else if (element.isF16())
    c.dtype = ElementType::F16;
  else
    c.dtype = ElementType::F64;
  return c;
}

} // namespace dash
