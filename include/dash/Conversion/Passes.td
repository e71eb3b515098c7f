//===- Passes.td - Dash conversion passes ------------------*- tablegen -*-===//

#ifndef DASH_CONVERSION_PASSES_TD
#define DASH_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def DashToLinalg : Pass<"dash-to-linalg"> {
  let summary = "Lower dash ops to linalg, tensor, arith, math and scf on tensors";
  let description = [{
    Lowers `dash.attention` (through `dash-decompose`'s patterns) and every
    stage op to `linalg.generic` on tensors, computing in f32 (f64 when an
    input is f64). The lowering is the reference structure for the CPU:

    - `dash.summarize`: reductions over the tokens of each complete block;
    - `dash.route_logits`: a batched contraction against the summaries, then
      the causal candidate mask;
    - `dash.entmax`: the threshold by bisection on the bracket
      `[max x - 1, max x]` in an `scf.for` (shifted by the row maximum so the
      bracket keeps full precision), then exact renormalisation;
    - `dash.block_prior`: group pooling, forced blocks and the log-prior;
    - `dash.sparse_attention`: masked attention over all keys, where the
      log-prior (`-inf` for unselected blocks) and the causal mask remove
      every unselected key.

    Static shapes are required; a dynamic shape is reported on the op.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"];
}

def DashRaiseAttention : Pass<"dash-raise-attention"> {
  let summary = "Raise causal softmax attention written in linalg to dash.attention";
  let description = [{
    Finds `O = softmax(mask(scale * Q K^T)) V` on tensors with static shapes
    and replaces `O` with a `dash.attention` of `Q, K, V` whose sparsity
    attributes are the pass options, so that a model imported from another
    frontend runs DashAttention. Layout: `Q, O [B, H, N, D]`,
    `K, V [B, Hkv, N, D]`.

    The match is semantic: elementwise `linalg` ops (named or generic) are
    inlined into one expression per output element, through
    `tensor.expand_shape`/`collapse_shape`, `linalg.transpose`/`broadcast`
    and broadcasting indexing maps, so that the grouping of the computation
    into ops does not matter. Recognised:

    - both products as `linalg` contractions (`linalg.generic` with a
      multiply-add body on 4-D tensors, or `linalg.batch_matmul` on
      `[B*H, N, D]` between `collapse_shape` and `expand_shape`: torch-mlir's
      lowering of a 4-D `torch.matmul`); `K^T` folded into the indexing map
      or made by a transpose;
    - the scale as multiplication or division by a constant of the scores,
      of `Q` or of `K`;
    - softmax over the keys as `linalg.softmax` or decomposed: maximum
      (`arith.maxnumf`/`maximumf`) reduction, `exp(x - max)`, sum reduction,
      division (upstream's decomposition of `linalg.softmax` and
      torch-mlir's of `aten._softmax`); the maximum may be omitted;
    - grouped heads: `K`, `V` broadcast from `[B, Hkv, N, D]` over the `G`
      query heads of a group (`repeat_interleave`: a broadcast to
      `[B, Hkv, G, N, D]` then a collapse);
    - the causal mask, required since DashAttention is causal: any
      combination of `arith.select`, additive bias tensors (constants, or
      computed from `linalg.index`) and comparisons that evaluates, at every
      (query, key) position, to the unmasked score for keys at or before the
      query and to `-inf` (or the lowest finite value of the element type)
      after it. The pass checks this at every position, which is why it
      rejects masks read from function arguments.

    Attention without a causal mask, with a mask that is not provably causal,
    with different query and key lengths, or with mixed element types is
    left alone with a remark on the output op. The ops of a raised attention
    that become dead are erased; other IR is not changed.
  }];
  let options = [
    Option<"alpha", "alpha", "double", "1.5", "alpha of the entmax (> 1)">,
    Option<"blockSize", "block-size", "int64_t", "64", "Key block size">,
    Option<"gamma", "gamma", "double", "1.0", "Routing scale">,
    Option<"sigma", "sigma", "double", "1.0", "Prior temperature">,
    Option<"prior", "prior", "::mlir::dash::PriorMode",
           "::mlir::dash::PriorMode::Centered", "Log-prior of the kept blocks",
           [{::llvm::cl::values(
             clEnumValN(::mlir::dash::PriorMode::Raw, "raw", "log pi"),
             clEnumValN(::mlir::dash::PriorMode::Centered, "centered",
                        "log pi centred over the support, over sigma"),
             clEnumValN(::mlir::dash::PriorMode::Flat, "flat",
                        "0: selection as a pure block mask"))}]>,
    Option<"localBlocks", "local-blocks", "int64_t", "0",
           "Blocks before the query's block that are always kept">,
    Option<"initBlocks", "init-blocks", "int64_t", "0",
           "First blocks that are always kept">
  ];
  let dependentDialects = ["::mlir::dash::DashDialect"];
}

def DashRouterToKernel : Pass<"dash-router-to-kernel",
                               "::mlir::func::FuncOp"> {
  let summary = "Fuse eligible router chains into the router kernel";
  let description = [{
    Replaces each `dash.route_logits` -> `dash.entmax` -> `dash.block_prior`
    chain whose logits feed nothing else (and whose entmax runs along the
    blocks without a mask, its tau unused, its probabilities read elsewhere
    only after the `block_prior`, then from the kernel's `probs` result) by one
    `dash.router_kernel` on buffers, when the kernel implements it (see
    `dash.router_kernel`): the query and summaries through read-only
    `bufferization.to_buffer`, the log-prior and counts in fresh buffers
    returned through `bufferization.to_tensor`. The `[B, H, N, Mc]` logits
    then never exist, nor the probabilities unless something reads them.
    Each eligible `dash.route_logits_grad` (16-bit query, f32 summaries and
    gradients, at least one complete block) becomes a
    `dash.route_logits_grad_kernel` likewise. Other chains are left for
    `dash-to-linalg`. Runs before one-shot bufferization;
    `dash-kernels-to-nvgpu` builds the kernel after buffer deallocation.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::memref::MemRefDialect"];
}

def DashSparseAttentionToKernel : Pass<"dash-sparse-attention-to-kernel",
                                        "::mlir::func::FuncOp"> {
  let summary = "Send eligible dash.sparse_attention(_grad) ops to the tensor-core kernels";
  let description = [{
    Replaces each `dash.sparse_attention` on tensors that the tensor-core
    kernels implement (bf16 or f16 operands, static shapes,
    `block_size = 64`, head dimension 64 or 128) by a
    `dash.sparse_attention_kernel` on buffers, and each such
    `dash.sparse_attention_grad` (O and dO of Q's type, f32 gradients) by a
    `dash.sparse_attention_grad_kernel`: the operands through read-only
    `bufferization.to_buffer`, the results in fresh buffers returned through
    `bufferization.to_tensor`. Other ops are left for `dash-to-linalg`. Runs
    before one-shot bufferization; `dash-kernels-to-nvgpu` builds the kernels
    after buffer deallocation.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::memref::MemRefDialect"];
}

def DashKernelsToNVGPU : Pass<"dash-kernels-to-nvgpu", "::mlir::func::FuncOp"> {
  let summary = "Build the tensor-core GPU kernels of the dash kernel ops";
  let description = [{
    Replaces each `dash.sparse_attention_kernel` by two `gpu.launch` kernels.
    Their 64-row tiles pack P heads of a KV group times 64 / P consecutive
    tokens (P = G when G divides 64, else 1): the heads of a group share the
    log-prior, so a tile's block list is the union over 64 / P tokens only,
    and one K/V load serves P heads.

    - a block-list kernel: one warp per (batch, KV head, tile) collects, in
      increasing order, the key blocks that at least one token of the tile
      selected (a log-prior other than `-inf`; NaN counts as selected so that
      it propagates), compacted with a warp-wide ballot;
    - the fine-attention kernel: one CTA of four warps per (batch, head
      chunk, tile) iterates over that list only. K and V blocks are
      double-buffered in shared memory by `nvgpu.device_async_copy`
      (cp.async); `nvgpu.ldmatrix` feeds `nvvm.mma.sync` (m16n8k16, f32
      accumulation) for `Q K^T` and `P V`; the softmax is online, in base 2,
      with the per-query log-prior added and the causal trim applied in the
      diagonal block. With `warpgroup-mma` (sm_90a only), the tiles are
      stored 128-byte swizzled instead and both products are
      `nvvm.wgmma.mma_async` (m64n64k16 and m64nDk16) on shared-memory
      descriptors: Q stays in shared memory, K and V share a ring of three
      slots (the next block's K arrives while this block is computed, its V
      once this block's K is free), and P goes to shared memory as 16-bit
      values before `P V`. The option also builds the dQ kernel (below) on
      warpgroup mma, with dS staged in shared memory.

    The kernels compute what the linalg lowering of `dash.sparse_attention`
    computes, with one difference: a NaN or inf in V of a selected block
    reaches every query of the tile (P = 0 times NaN in the tensor-core
    product, as in FlashAttention), not only the queries that attend to it.
    A NaN in K reaches only the queries that attend to it.

    Each `dash.sparse_attention_grad_kernel` becomes five kernels (seven
    when several CTAs add into a key's dK and dV): fills with zeros of the
    bias gradient (and of dK and dV); the block lists, which also record
    which tile selected which block; the inverse lists (for each key block,
    the tiles that selected it, compacted the same way); the dQ kernel
    (one CTA per head chunk and tile over its block list: Delta = <dO, O>,
    `S = Q K^T` and `dP = dO V^T` by mma, P from the forward's LSE,
    `dS = P (dP - Delta)`, `dQ += dS K`, and each row's sum of dS over a
    block added atomically to the bias gradient, since the G heads of a
    group share it); and the dK/dV kernel (one CTA per head chunk, key
    block and segment of its inverse list, so that a block every tile
    selects does not serialise the kernel: `S^T = K Q^T`, `dP^T = V dO^T`,
    then `dV += P^T dO` and `dK += dS^T Q` with P^T and dS^T as A operands
    straight from the accumulators; a CTA that is its keys' only writer
    stores their rows, otherwise the CTAs add them atomically after a fill
    with zeros).

    The fine-attention kernel asks for three resident CTAs per SM
    (`dash.min_ctas_per_sm` on its `gpu.dynamic_shared_memory`, applied by
    `dash-kernel-occupancy` after outlining).

    Each `dash.router_kernel` becomes two kernels: one splits the f32
    summaries into three 16-bit terms (of the query's type; their sum is the
    f32 value to within its last bit, so that tensor-core products keep f32
    routing logits), and the fused router. One CTA of the router takes a
    tile of tokens with all G heads of their KV group: its warps compute the
    rows' logits with `nvvm.mma.sync` into shared memory; eight lanes per row
    then solve entmax for tau by Newton steps from the left end of the
    bracket `[max x - 1, max x]` (monotone for alpha <= 2) until no step
    exceeds 1e-7; then one warp per token pools the G heads' probabilities
    and writes the log-prior row and the count.
  }];
  let options = [
    Option<"warpgroupMma", "warpgroup-mma", "bool", /*default=*/"false",
           "Build the fine attention and its dQ kernel with warpgroup mma "
           "(sm_90a)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::nvgpu::NVGPUDialect", "::mlir::NVVM::NVVMDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"];
}

def DashKernelOccupancy : Pass<"dash-kernel-occupancy", "::mlir::ModuleOp"> {
  let summary = "Turn the kernels' resident-CTA hints into nvvm.minctasm";
  let description = [{
    Kernel outlining keeps a `gpu.launch` body but not the launch's
    attributes, so the tensor-core kernel emitters state how many CTAs of a
    kernel should be resident per SM as a `dash.min_ctas_per_sm` integer
    attribute on an op of the body. This pass, run after outlining, moves it
    to the kernel's `gpu.func` as `nvvm.minctasm`, which reaches PTX as
    `.minnctapersm`: ptxas then keeps the kernel's registers within what
    that many CTAs leave each thread (168 for three CTAs of 128 threads)
    instead of trading occupancy for registers.

    The hint is lowered to the number of CTAs whose dynamic shared memory
    (the largest `gpu.launch_func` of the kernel, plus 1 KiB the driver
    reserves per CTA) fits `shared-memory-per-sm` bytes: capping registers
    for CTAs that cannot be resident would only cost spills. With
    `shared-memory-per-sm` 0 (the chip is unknown) the hints are dropped. A
    hint that is not a positive integer, or two different hints in one
    kernel, fail the pass.
  }];
  let options = [
    Option<"sharedMemoryPerSM", "shared-memory-per-sm", "int64_t",
           /*default=*/"0",
           "Shared memory the CTAs of one SM can use, in bytes">,
  ];
  let dependentDialects = ["::mlir::NVVM::NVVMDialect"];
}

#endif // DASH_CONVERSION_PASSES_TD
