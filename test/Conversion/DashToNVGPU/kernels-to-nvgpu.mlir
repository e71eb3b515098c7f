// RUN: dash-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(dash-kernels-to-nvgpu))" | FileCheck %s

// CHECK-LABEL: func.func @bf16_d64
// CHECK-SAME: (%[[Q:.*]]: memref<1x4x200x64xbf16>, %[[K:.*]]: memref<1x2x200x64xbf16>, %[[V:.*]]: memref<1x2x200x64xbf16>, %[[P:.*]]: memref<1x2x200x4xf32>, %[[O:.*]]: memref<1x4x200x64xbf16>, %[[LSE:.*]]: memref<1x4x200xf32>)
// CHECK-NOT: dash.sparse_attention_kernel
// G = 2: a tile packs the 2 heads of a group times 32 tokens, so there are
// 7 tiles of 200 tokens per KV head.
// CHECK-DAG: %[[LISTS:.*]] = memref.alloc() : memref<1x2x7x4xi32>
// CHECK-DAG: %[[COUNTS:.*]] = memref.alloc() : memref<1x2x7xi32>
// Block lists: one warp per (tile, KV head, batch); a butterfly ballot.
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c7{{.*}}, {{.*}} = %c2{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c32{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) module(@dash_block_lists) function(@dash_block_lists)
// CHECK: memref.load %[[P]]
// CHECK: arith.cmpf une
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: math.ctpop
// CHECK: memref.store {{.*}}, %[[LISTS]]
// CHECK: memref.store {{.*}}, %[[COUNTS]]
// Fine attention: (tiles, KV heads, batch) x 128 threads, 4 shared tiles of
// 64 x (64 + 8) bf16 (K and V, two buffers each; Q first in the second K
// buffer), built for three resident CTAs an SM. Tile row r is token
// 32 t + r % 32 of head 2 kvHead + r / 32.
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c7{{.*}}, {{.*}} = %c2{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c128{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) dynamic_shared_memory_size %c36864_i32 module(@dash_sparse_attention) function(@dash_sparse_attention)
// CHECK: gpu.dynamic_shared_memory {dash.min_ctas_per_sm = 3 : i64}
// CHECK: %[[TILEBASE:.*]] = arith.muli %block_id_x, %c32{{[_0-9]*}} : index
// CHECK: %[[CHUNK:.*]] = arith.addi %thread_id_x, %c0{{[_0-9]*}} : index
// CHECK: %[[ROW:.*]] = arith.divui %[[CHUNK]], %c8{{[_0-9]*}} : index
// CHECK: %[[ROWTOKEN:.*]] = arith.remui %[[ROW]], %c32{{[_0-9]*}} : index
// CHECK: %[[TOKEN:.*]] = arith.addi %[[TILEBASE]], %[[ROWTOKEN]] : index
// CHECK: %[[ROWHEAD:.*]] = arith.divui %[[ROW]], %c32{{[_0-9]*}} : index
// CHECK: %[[HEAD:.*]] = arith.addi %{{.*}}, %[[ROWHEAD]] : index
// CHECK: %[[CLAMPED:.*]] = arith.minui %[[TOKEN]], %c199
// CHECK: nvgpu.device_async_copy %[[Q]][%{{.*}}, %[[HEAD]], %[[CLAMPED]], %{{.*}}], %{{.*}}[%[[ROW]], %{{.*}}], 8, %{{.*}} {bypassL1}
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<64x72xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
// CHECK: scf.for
// CHECK: nvgpu.device_async_wait {{.*}} {numGroups = 1 : i32}
// CHECK: nvvm.mma.sync {{.*}} {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>}
// CHECK: memref.load %[[P]]
// CHECK: math.exp2
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// CHECK: vector.store {{.*}}, %[[O]]{{.*}} : memref<1x4x200x64xbf16>, vector<2xbf16>
// CHECK: memref.store {{.*}}, %[[LSE]]
// CHECK-DAG: memref.dealloc %[[LISTS]]
// CHECK-DAG: memref.dealloc %[[COUNTS]]
func.func @bf16_d64(%q: memref<1x4x200x64xbf16>, %k: memref<1x2x200x64xbf16>,
                    %v: memref<1x2x200x64xbf16>, %p: memref<1x2x200x4xf32>,
                    %o: memref<1x4x200x64xbf16>, %lse: memref<1x4x200xf32>) {
  dash.sparse_attention_kernel ins(%q, %k, %v, %p : memref<1x4x200x64xbf16>,
      memref<1x2x200x64xbf16>, memref<1x2x200x64xbf16>, memref<1x2x200x4xf32>)
      outs(%o, %lse : memref<1x4x200x64xbf16>, memref<1x4x200xf32>) {block_size = 64}
  return
}

// -----

// f16 and D = 128: 4 tiles of 64 x 136 halves; f16 pairs are mma operands
// as they are.
// CHECK-LABEL: func.func @f16_d128
// CHECK: dynamic_shared_memory_size %c69632_i32
// CHECK: nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
func.func @f16_d128(%q: memref<2x2x128x128xf16>, %k: memref<2x1x128x128xf16>,
                    %v: memref<2x1x128x128xf16>, %p: memref<2x1x128x2xf32>,
                    %o: memref<2x2x128x128xf16>, %lse: memref<2x2x128xf32>) {
  dash.sparse_attention_kernel ins(%q, %k, %v, %p : memref<2x2x128x128xf16>,
      memref<2x1x128x128xf16>, memref<2x1x128x128xf16>, memref<2x1x128x2xf32>)
      outs(%o, %lse : memref<2x2x128x128xf16>, memref<2x2x128xf32>) {block_size = 64}
  return
}

// -----

// The gradient: six kernels, with the block lists, the tile-by-block flags,
// the inverse lists and Delta in temporaries freed after them.
// CHECK-LABEL: func.func @grad_bf16_d64
// CHECK-SAME: %[[DQ:[^:]*]]: memref<1x4x200x64xf32>, %[[DK:[^:]*]]: memref<1x2x200x64xf32>, %[[DV:[^:]*]]: memref<1x2x200x64xf32>, %[[DL:[^:]*]]: memref<1x2x200x4xf32>)
// CHECK-NOT: dash.sparse_attention_grad_kernel
// CHECK-DAG: %[[LISTS:.*]] = memref.alloc() : memref<1x2x7x4xi32>
// CHECK-DAG: %[[FLAGS:.*]] = memref.alloc() : memref<1x2x4x7xi8>
// CHECK-DAG: %[[DELTA:.*]] = memref.alloc() : memref<1x4x200xf32>
// The bias gradient is zeroed first: the dQ kernel adds to it. dK and dV
// are not: with both heads of a group in every tile and one list segment a
// block, one CTA stores each key's.
// CHECK: %[[FLAT:.*]] = memref.collapse_shape %[[DL]] {{\[\[}}0, 1, 2, 3]] : memref<1x2x200x4xf32> into memref<1600xf32>
// CHECK: gpu.launch {{.*}} module(@dash_fill)
// CHECK: memref.store {{.*}}, %[[FLAT]]
// CHECK-NOT: module(@dash_fill)
// CHECK: gpu.launch {{.*}} module(@dash_block_lists)
// CHECK: memref.store {{.*}}, %[[FLAGS]]
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c4{{.*}}, {{.*}} = %c2{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c32{{.*}}) module(@dash_inverse_block_lists)
// CHECK: memref.load %[[FLAGS]]
// CHECK-COUNT-5: gpu.shuffle  xor
// dQ: (tiles, KV heads, batch) x 128 threads, 6 tiles and the rows' Delta.
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c7{{.*}}, {{.*}} = %c2{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c128{{.*}}) dynamic_shared_memory_size %c55552_i32 module(@dash_sparse_attention_grad_query)
// CHECK: vector.reduction <add>
// CHECK: memref.store {{.*}}, %[[DELTA]]
// CHECK: scf.for
// CHECK: nvvm.mma.sync
// CHECK: math.exp2
// CHECK: memref.atomic_rmw addf {{.*}}, %[[DL]]
// CHECK: vector.store {{.*}}, %[[DQ]]{{.*}} : memref<1x4x200x64xf32>, vector<2xf32>
// dK/dV: (blocks, KV heads, batch) x 128 threads, 6 tiles and the rows'
// log-prior, LSE and Delta (two buffers).
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c4{{.*}}, {{.*}} = %c2{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c128{{.*}}) dynamic_shared_memory_size %c58368_i32 module(@dash_sparse_attention_grad_key_value)
// CHECK: nvgpu.device_async_copy %[[DELTA]]
// CHECK: scf.for
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// CHECK-NOT: memref.atomic_rmw
// CHECK: vector.store {{.*}}, %[[DK]]
// CHECK: vector.store {{.*}}, %[[DV]]
// CHECK: memref.dealloc %[[LISTS]]
// CHECK: memref.dealloc %[[DELTA]]
func.func @grad_bf16_d64(%q: memref<1x4x200x64xbf16>, %k: memref<1x2x200x64xbf16>,
                         %v: memref<1x2x200x64xbf16>, %p: memref<1x2x200x4xf32>,
                         %o: memref<1x4x200x64xbf16>, %lse: memref<1x4x200xf32>,
                         %do: memref<1x4x200x64xbf16>, %dq: memref<1x4x200x64xf32>,
                         %dk: memref<1x2x200x64xf32>, %dv: memref<1x2x200x64xf32>,
                         %dl: memref<1x2x200x4xf32>) {
  dash.sparse_attention_grad_kernel
      ins(%q, %k, %v, %p, %o, %lse, %do : memref<1x4x200x64xbf16>,
          memref<1x2x200x64xbf16>, memref<1x2x200x64xbf16>,
          memref<1x2x200x4xf32>, memref<1x4x200x64xbf16>,
          memref<1x4x200xf32>, memref<1x4x200x64xbf16>)
      outs(%dq, %dk, %dv, %dl : memref<1x4x200x64xf32>, memref<1x2x200x64xf32>,
           memref<1x2x200x64xf32>, memref<1x2x200x4xf32>) {block_size = 64}
  return
}

// -----

// G = 3 does not divide 64: tiles of one head, so the three heads of a group
// add their dK and dV atomically into zero-filled buffers.
// CHECK-LABEL: func.func @grad_group_of_three
// CHECK-SAME: %[[DK:[^:]*]]: memref<1x1x128x64xf32>, %[[DV:[^:]*]]: memref<1x1x128x64xf32>, %{{[^:]*}}: memref<1x1x128x2xf32>)
// CHECK: memref.collapse_shape %[[DK]]
// CHECK: gpu.launch {{.*}} module(@dash_fill)
// CHECK: memref.collapse_shape %[[DV]]
// CHECK: gpu.launch {{.*}} module(@dash_fill)
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c2{{.*}}, {{.*}} = %c3{{.*}}, {{.*}} = %c1{{.*}}) {{.*}} module(@dash_sparse_attention_grad_query)
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c2{{.*}}, {{.*}} = %c3{{.*}}, {{.*}} = %c1{{.*}}) {{.*}} module(@dash_sparse_attention_grad_key_value)
// CHECK: memref.atomic_rmw addf {{.*}}, %[[DK]]
// CHECK: memref.atomic_rmw addf {{.*}}, %[[DV]]
func.func @grad_group_of_three(%q: memref<1x3x128x64xbf16>, %k: memref<1x1x128x64xbf16>,
                               %v: memref<1x1x128x64xbf16>, %p: memref<1x1x128x2xf32>,
                               %o: memref<1x3x128x64xbf16>, %lse: memref<1x3x128xf32>,
                               %do: memref<1x3x128x64xbf16>, %dq: memref<1x3x128x64xf32>,
                               %dk: memref<1x1x128x64xf32>, %dv: memref<1x1x128x64xf32>,
                               %dl: memref<1x1x128x2xf32>) {
  dash.sparse_attention_grad_kernel
      ins(%q, %k, %v, %p, %o, %lse, %do : memref<1x3x128x64xbf16>,
          memref<1x1x128x64xbf16>, memref<1x1x128x64xbf16>,
          memref<1x1x128x2xf32>, memref<1x3x128x64xbf16>,
          memref<1x3x128xf32>, memref<1x3x128x64xbf16>)
      outs(%dq, %dk, %dv, %dl : memref<1x3x128x64xf32>, memref<1x1x128x64xf32>,
           memref<1x1x128x64xf32>, memref<1x1x128x2xf32>) {block_size = 64}
  return
}

// -----

// G = 16 at N = 8192: tiles of 16 heads x 4 tokens (2048 per KV head), and
// each key block's inverse list split into 32 segments of 64 tiles, one CTA
// each (128 blocks x 32), which add their dK and dV.
// CHECK-LABEL: func.func @grad_long_lists
// CHECK-SAME: %[[DK:[^:]*]]: memref<1x1x8192x64xf32>, %[[DV:[^:]*]]: memref<1x1x8192x64xf32>, %{{[^:]*}}: memref<1x1x8192x128xf32>)
// CHECK-DAG: memref.alloc() : memref<1x1x2048x128xi32>
// CHECK-DAG: memref.alloc() : memref<1x1x128x2048xi32>
// CHECK: gpu.launch {{.*}} module(@dash_fill)
// CHECK: gpu.launch {{.*}} module(@dash_fill)
// CHECK: gpu.launch {{.*}} module(@dash_fill)
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c2048{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) {{.*}} module(@dash_sparse_attention_grad_query)
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c4096{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) {{.*}} module(@dash_sparse_attention_grad_key_value)
// CHECK: arith.remui %{{.*}}, %c32
// CHECK: arith.muli %{{.*}}, %c64
// CHECK: scf.if
// CHECK: memref.atomic_rmw addf {{.*}}, %[[DK]]
// CHECK: memref.atomic_rmw addf {{.*}}, %[[DV]]
func.func @grad_long_lists(%q: memref<1x16x8192x64xbf16>, %k: memref<1x1x8192x64xbf16>,
                           %v: memref<1x1x8192x64xbf16>, %p: memref<1x1x8192x128xf32>,
                           %o: memref<1x16x8192x64xbf16>, %lse: memref<1x16x8192xf32>,
                           %do: memref<1x16x8192x64xbf16>, %dq: memref<1x16x8192x64xf32>,
                           %dk: memref<1x1x8192x64xf32>, %dv: memref<1x1x8192x64xf32>,
                           %dl: memref<1x1x8192x128xf32>) {
  dash.sparse_attention_grad_kernel
      ins(%q, %k, %v, %p, %o, %lse, %do : memref<1x16x8192x64xbf16>,
          memref<1x1x8192x64xbf16>, memref<1x1x8192x64xbf16>,
          memref<1x1x8192x128xf32>, memref<1x16x8192x64xbf16>,
          memref<1x16x8192xf32>, memref<1x16x8192x64xbf16>)
      outs(%dq, %dk, %dv, %dl : memref<1x16x8192x64xf32>, memref<1x1x8192x64xf32>,
           memref<1x1x8192x64xf32>, memref<1x1x8192x128xf32>) {block_size = 64}
  return
}

// -----

// The router: the summaries split into three bf16 terms, then one CTA of
// 16 warps (8 threads a row) per 16 tokens x 4 heads (64 rows of 32 + 8
// logits and a sum, then 3 sums per token, then the rows' queries (64 + 8
// bf16 each), in shared memory). The queries are staged with their D
// permuted as the summaries' 16-byte lane loads are (4-byte stores); each
// warp takes all 64 rows of its chunks of 8 blocks (ldmatrix for Q, 4
// row tiles x 4 k-steps x 3 terms of mma), with the next chunk's summaries
// loading during this chunk's products.
// CHECK-LABEL: func.func @router
// CHECK-SAME: (%[[Q:.*]]: memref<1x8x256x64xbf16>, %[[S:.*]]: memref<1x2x4x64xf32>, %[[P:.*]]: memref<1x2x256x4xf32>, %[[C:.*]]: memref<1x2x256xi32>)
// CHECK-NOT: dash.router_kernel
// CHECK: %[[PARTS:.*]] = memref.alloc() : memref<3x1x2x4x64xbf16>
// CHECK: gpu.launch {{.*}} module(@dash_router_split) function(@dash_router_split)
// CHECK: memref.load %[[S]]
// CHECK-COUNT-3: arith.truncf {{.*}} : f32 to bf16
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c16{{.*}}, {{.*}} = %c2{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c512{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) dynamic_shared_memory_size %c19904_i32 module(@dash_router) function(@dash_router)
// CHECK: %[[STAGED:.*]] = memref.view %{{.*}}[%c10688{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x72xbf16, #gpu.address_space<workgroup>>
// CHECK: vector.load %[[Q]]{{.*}} {alignment = 16 : i64} : memref<1x8x256x64xbf16>, vector<8xbf16>
// CHECK-COUNT-4: vector.store {{.*}}, %[[STAGED]]{{.*}} vector<2xbf16>
// CHECK: gpu.barrier
// CHECK-COUNT-6: vector.load %[[PARTS]]{{.*}} {alignment = 16 : i64} : memref<3x1x2x4x64xbf16>, vector<8xbf16>
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<8xbf16>, vector<8xbf16>, vector<8xbf16>, vector<8xbf16>, vector<8xbf16>, vector<8xbf16>)
// CHECK-COUNT-6: vector.load %[[PARTS]]
// CHECK: nvgpu.ldmatrix %[[STAGED]]
// CHECK-COUNT-48: nvvm.mma.sync
// CHECK: gpu.barrier
// Entmax: max, then Newton steps while any lane of the warp is active (at
// most 64).
// CHECK: arith.maximumf
// CHECK: scf.while
// CHECK: arith.cmpi ult, {{.*}}, %c64
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: scf.condition
// CHECK: } do {
// CHECK: arith.divf
// CHECK: scf.yield
// CHECK: gpu.barrier
// The prior: pooled over the heads (u times the row's 1 / sum, no division),
// centred, written with the count.
// CHECK-NOT: arith.divf
// CHECK: math.log
// CHECK: memref.store {{.*}}, %[[P]]
// CHECK: memref.store {{.*}}, %[[C]]
// CHECK: memref.dealloc %[[PARTS]]
func.func @router(%q: memref<1x8x256x64xbf16>, %s: memref<1x2x4x64xf32>,
                  %p: memref<1x2x256x4xf32>, %c: memref<1x2x256xi32>) {
  dash.router_kernel ins(%q, %s : memref<1x8x256x64xbf16>, memref<1x2x4x64xf32>)
      outs(%p, %c : memref<1x2x256x4xf32>, memref<1x2x256xi32>)
  return
}

// -----

// With the probabilities: after the solve, warps take rows and lanes
// consecutive columns of p = u / sum (u times the row's 1 / sum, kept in
// shared memory), before the prior reuses the logits' shared memory.
// CHECK-LABEL: func.func @router_probs
// CHECK-SAME: %[[PR:[^:]*]]: memref<1x8x256x4xf32>)
// CHECK: module(@dash_router)
// CHECK: scf.while
// CHECK: %[[INVERSE:.*]] = arith.divf %cst{{.*}}, %{{.*}} : f32
// CHECK-NEXT: memref.store %[[INVERSE]], %{{.*}} : memref<64xf32, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK-NOT: arith.divf
// CHECK: %[[P:.*]] = arith.mulf
// CHECK-NEXT: scf.yield %[[P]]
// CHECK: memref.store {{.*}}, %[[PR]]
// CHECK: gpu.barrier
// CHECK: math.log
func.func @router_probs(%q: memref<1x8x256x64xbf16>, %s: memref<1x2x4x64xf32>,
                        %p: memref<1x2x256x4xf32>, %c: memref<1x2x256xi32>,
                        %pr: memref<1x8x256x4xf32>) {
  dash.router_kernel ins(%q, %s : memref<1x8x256x64xbf16>, memref<1x2x4x64xf32>)
      outs(%p, %c, %pr : memref<1x2x256x4xf32>, memref<1x2x256xi32>, memref<1x8x256x4xf32>)
  return
}

// -----

// The routing-logit gradient: dQ per (tile, head, batch), the summaries and
// dz staged or read as bf16, one k-step of 16 blocks per mma; dKbar zeroed,
// then (block chunks, KV heads, batch x splits) CTAs add their sums.
// CHECK-LABEL: func.func @route_logits_grad
// CHECK-SAME: %[[DZ:[^:]*]]: memref<1x8x256x4xf32>, %[[DQ:[^:]*]]: memref<1x8x256x64xf32>, %[[DS:[^:]*]]: memref<1x2x4x64xf32>)
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c4{{.*}}, {{.*}} = %c8{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c128{{.*}}) dynamic_shared_memory_size %c9216_i32 module(@dash_route_logits_grad_query)
// CHECK: arith.truncf {{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: memref.load %[[DZ]]
// CHECK: nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<bf16>
// CHECK: vector.store {{.*}}, %[[DQ]]
// CHECK: module(@dash_fill)
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}, {{.*}} = %c2{{.*}}, {{.*}} = %c4{{.*}}) threads({{.*}}) in ({{.*}} = %c128{{.*}}) {{.*}} module(@dash_route_logits_grad_summaries)
// CHECK: nvvm.mma.sync
// CHECK: memref.atomic_rmw addf {{.*}}, %[[DS]]
func.func @route_logits_grad(%q: memref<1x8x256x64xbf16>, %kbar: memref<1x2x4x64xf32>,
                             %dz: memref<1x8x256x4xf32>, %dq: memref<1x8x256x64xf32>,
                             %dkbar: memref<1x2x4x64xf32>) {
  dash.route_logits_grad_kernel ins(%q, %kbar, %dz : memref<1x8x256x64xbf16>,
      memref<1x2x4x64xf32>, memref<1x8x256x4xf32>)
      outs(%dq, %dkbar : memref<1x8x256x64xf32>, memref<1x2x4x64xf32>) {gamma = 2.0}
  return
}

// -----

// G = 1: each CTA owns its rows of dK and dV, stored without atomics.
// CHECK-LABEL: func.func @grad_g1
// CHECK-SAME: %[[DK:[^:]*]]: memref<1x2x128x64xf32>, %[[DV:[^:]*]]: memref<1x2x128x64xf32>, %{{[^:]*}}: memref<1x2x128x2xf32>)
// CHECK: module(@dash_sparse_attention_grad_key_value)
// CHECK-NOT: memref.atomic_rmw
// CHECK: vector.store {{.*}}, %[[DK]]
// CHECK: vector.store {{.*}}, %[[DV]]
func.func @grad_g1(%q: memref<1x2x128x64xf16>, %k: memref<1x2x128x64xf16>,
                   %p: memref<1x2x128x2xf32>, %lse: memref<1x2x128xf32>,
                   %dq: memref<1x2x128x64xf32>, %dk: memref<1x2x128x64xf32>,
                   %dv: memref<1x2x128x64xf32>, %dl: memref<1x2x128x2xf32>) {
  dash.sparse_attention_grad_kernel
      ins(%q, %k, %k, %p, %q, %lse, %q : memref<1x2x128x64xf16>,
          memref<1x2x128x64xf16>, memref<1x2x128x64xf16>,
          memref<1x2x128x2xf32>, memref<1x2x128x64xf16>,
          memref<1x2x128xf32>, memref<1x2x128x64xf16>)
      outs(%dq, %dk, %dv, %dl : memref<1x2x128x64xf32>, memref<1x2x128x64xf32>,
           memref<1x2x128x64xf32>, memref<1x2x128x2xf32>) {block_size = 64}
  return
}
