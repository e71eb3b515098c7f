//===- Passes.td - Dash dialect passes ---------------------*- tablegen -*-===//

#ifndef DASH_DIALECT_DASH_TRANSFORMS_PASSES_TD
#define DASH_DIALECT_DASH_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def DashDecompose : Pass<"dash-decompose"> {
  let summary = "Decompose dash.attention and dash.attention_grad into stage ops";
  let description = [{
    Rewrites every `dash.attention` into `dash.summarize`,
    `dash.route_logits`, `dash.entmax`, `dash.block_prior` and
    `dash.sparse_attention`, with `tensor.empty` destinations. The stage ops
    carry the same attributes, so the result has the same semantics.

    Every `dash.attention_grad` becomes the recomputed router, then
    `dash.sparse_attention_grad` and, unless `router_grad = none` or the
    prior is `flat`, `dash.block_prior_grad`, `dash.entmax_grad`,
    `dash.route_logits_grad` and `dash.summarize_grad`; partial gradients
    are summed with `arith.addf` on tensors.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def DashDifferentiate : Pass<"dash-differentiate", "::mlir::ModuleOp"> {
  let summary = "Generate the gradient (VJP) function of functions built from dash ops";
  let description = [{
    For each selected `func.func @f(args) -> (results)`, adds
    `@f_grad(args, result cotangents) -> (argument gradients)`: the forward
    ops, then their vector-Jacobian products in reverse order. Dash ops build
    their own products through `DifferentiableOpInterface`; `arith.addf`,
    `subf`, `mulf`, `divf`, `negf`, `extf` and `truncf` on tensors are
    differentiated here; ops without float tensor operands (`tensor.empty`,
    constants) need none. Gradients of floating-point tensor arguments are
    returned in order (zero when an argument does not influence the
    results); other arguments and results take no part.

    Selected functions are those named in `functions`, or, when it is empty,
    those with the unit attribute `dash.differentiate`. A function with more
    than one block, or an op on the path from the arguments to the results
    that cannot be differentiated, is an error naming the op.
  }];
  let options = [
    ListOption<"functions", "functions", "std::string",
               "Functions to differentiate (default: those marked "
               "dash.differentiate)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def DashMemRefCopyToLinalg : Pass<"dash-memref-copy-to-linalg"> {
  let summary = "Rewrite memref.copy as linalg.copy";
  let description = [{
    `memref.copy` between non-contiguous buffers lowers to a call of
    `memrefCopy` from MLIR's C runner library, which the JIT and the
    driver-only runtime do not ship. As `linalg.copy` it becomes loops like
    every other linalg op.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def DashMapParallelLoopsToGPU : Pass<"dash-map-parallel-loops-to-gpu"> {
  let summary = "Map every top-level scf.parallel to a 1-D grid of thread blocks";
  let description = [{
    Each outermost `scf.parallel` (one per bufferized linalg op) has its
    dimensions collapsed into one, which is tiled by `threads-per-block`: the
    tile loop is mapped to blocks and the loop inside a tile to threads, so
    every output element gets a thread whatever the op's rank. Parallel loops
    nested inside stay sequential in the thread. Run
    `convert-parallel-loops-to-gpu` next. This is the correctness-first
    mapping of the generic CUDA path; the attention kernels proper are built
    explicitly.
  }];
  let options = [
    Option<"threadsPerBlock", "threads-per-block", "int64_t", "256",
           "Threads of each block">
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect"];
}

def DashHostBuffersToGPU : Pass<"dash-host-buffers-to-gpu", "::mlir::func::FuncOp"> {
  let summary = "Allocate the buffers of host code in device memory";
  let description = [{
    After bufferization and outlining to GPU kernels, the temporary buffers
    a host function allocates are only touched by kernels: `memref.alloc`
    and `memref.dealloc` become `gpu.alloc` and `gpu.dealloc` (device
    memory), and constants (`memref.get_global`, e.g. folded splats) are
    copied to device memory freed at return. Function arguments are the
    caller's device buffers.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

#endif // DASH_DIALECT_DASH_TRANSFORMS_PASSES_TD
