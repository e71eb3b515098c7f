// RUN: dash-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(dash-kernels-to-nvgpu{warpgroup-mma=true}))" | FileCheck %s
// Every kernel multiplies with wgmma: none is left on ldmatrix and mma.sync.
// RUN: dash-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(dash-kernels-to-nvgpu{warpgroup-mma=true}))" | FileCheck %s --check-prefix=NOSYNC
// NOSYNC-NOT: nvgpu.ldmatrix
// NOSYNC-NOT: nvvm.mma.sync

// With warpgroup-mma (sm_90a) the fine attention multiplies with wgmma on
// shared-memory descriptors. Its shared memory: Q, a ring of three slots for
// K and V (4 tiles of 64 x 128 bf16, 128-byte swizzled, no padding), P
// (64 x 64), and 1 KiB so that the tiles can start on a 1024-byte boundary:
// 4 * 16384 + 8192 + 1024 = 74752 bytes, three CTAs an SM.
// CHECK-LABEL: func.func @bf16_d128
// CHECK: gpu.launch {{.*}} dynamic_shared_memory_size %c74752_i32 module(@dash_sparse_attention) function(@dash_sparse_attention)
// CHECK: %[[SHARED:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[ADDRESS:.*]] = memref.extract_aligned_pointer_as_index %[[SHARED]]
// CHECK: %[[MISALIGNED:.*]] = arith.remui %[[ADDRESS]], %c1024
// Rows go to swizzled chunks: the 16-byte chunk c of row r to c ^ (r % 8).
// CHECK: memref.view %[[SHARED]]{{.*}} to memref<128x64xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[SWIZZLED:.*]] = arith.xori
// CHECK: %[[COLUMN:.*]] = arith.muli %[[SWIZZLED]], %c8
// CHECK: nvgpu.device_async_copy {{.*}}[%{{.*}}, %[[COLUMN]]], 8
// The prologue: Q with the first K, then the first V, as two groups.
// CHECK: nvgpu.device_async_create_group
// CHECK: nvgpu.device_async_create_group
// CHECK-NOT: nvgpu.ldmatrix
// Each step waits for this block's K (its V may stay in flight); copies
// reach the async proxy before the barrier.
// CHECK: scf.for
// CHECK: %[[RING:.*]] = arith.remui %{{.*}}, %c3
// CHECK: nvgpu.device_async_wait {{.*}} {numGroups = 1 : i32}
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// K-major descriptors: 16-byte leading offset, 1024 bytes between 8-row
// groups, 128-byte swizzle.
// CHECK: arith.constant 4611686293305360384 : i64
// S = Q K^T: eight k-steps, the first without accumulator; its wait also
// covers the previous step's P V.
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-COUNT-7: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// Then the next block's K and V are copied, as two groups, into the slots
// of the previous V and of this K.
// CHECK: gpu.barrier
// CHECK: nvgpu.device_async_copy %arg1
// CHECK: nvgpu.device_async_create_group
// CHECK: nvgpu.device_async_copy %arg2
// CHECK: nvgpu.device_async_create_group
// CHECK: math.exp2
// P goes to shared memory; then this block's V has arrived, and O += P V
// with V MN-major (halves 8192 bytes apart), not waited for in this step.
// CHECK: memref.view %[[SHARED]]{{.*}} to memref<64x64xbf16, #gpu.address_space<workgroup>>
// CHECK-COUNT-16: vector.store {{.*}} : memref<64x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK-NEXT: nvgpu.device_async_wait {{.*}} {numGroups = 2 : i32}
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK: arith.constant 4611686293338849280 : i64
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 128, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NOT: nvvm.wgmma.wait
// CHECK-NOT: gpu.barrier
// CHECK: scf.yield
// After the loop: the last P V, then the prologue's copies (an empty list).
// CHECK-NEXT: }
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NEXT: nvgpu.device_async_wait {{.*}} {numGroups = 0 : i32}
// CHECK: vector.store {{.*}} : memref<1x32x256x128xbf16>, vector<2xbf16>
func.func @bf16_d128(%q: memref<1x32x256x128xbf16>, %k: memref<1x2x256x128xbf16>,
                     %v: memref<1x2x256x128xbf16>, %p: memref<1x2x256x4xf32>,
                     %o: memref<1x32x256x128xbf16>, %lse: memref<1x32x256xf32>) {
  dash.sparse_attention_kernel ins(%q, %k, %v, %p : memref<1x32x256x128xbf16>,
      memref<1x2x256x128xbf16>, memref<1x2x256x128xbf16>, memref<1x2x256x4xf32>)
      outs(%o, %lse : memref<1x32x256x128xbf16>, memref<1x32x256xf32>) {block_size = 64}
  return
}

// -----

// f16 and D = 64: one 64-column half a tile (8 KiB), four k-steps for S and
// N = 64 for P V: 4 * 8192 + 8192 + 1024 = 41984 bytes.
// CHECK-LABEL: func.func @f16_d64
// CHECK: dynamic_shared_memory_size %c41984_i32
// CHECK: memref<64x64xf16, #gpu.address_space<workgroup>>
// CHECK: arith.constant 4611686293305360384 : i64
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <zero>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// CHECK-COUNT-3: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <row>]
func.func @f16_d64(%q: memref<1x2x200x64xf16>, %k: memref<1x1x200x64xf16>,
                   %v: memref<1x1x200x64xf16>, %p: memref<1x1x200x4xf32>,
                   %o: memref<1x2x200x64xf16>, %lse: memref<1x2x200xf32>) {
  dash.sparse_attention_kernel ins(%q, %k, %v, %p : memref<1x2x200x64xf16>,
      memref<1x1x200x64xf16>, memref<1x1x200x64xf16>, memref<1x1x200x4xf32>)
      outs(%o, %lse : memref<1x2x200x64xf16>, memref<1x2x200xf32>) {block_size = 64}
  return
}

// -----

// The gradient: the dQ kernel multiplies with wgmma (S = Q K^T and
// dP = dO V^T over the whole block, m64n64k16, each waited for (as one
// group they measured slower); dS staged in a swizzled
// 64 x 64 tile for dQ += dS K, m64n64k16 with K MN-major). Its shared memory:
// 6 tiles of 64 x 64 bf16, the staging tile, Delta of the 64 rows and the
// alignment slack: 6 * 8192 + 8192 + 256 + 1024 = 58624 bytes. dV and dK
// are two kernels, each holding one 64 x D accumulator set.
// CHECK-LABEL: func.func @grad_bf16_d64
// CHECK: gpu.launch {{.*}} dynamic_shared_memory_size %c58624_i32 module(@dash_sparse_attention_grad_query)
// CHECK: scf.for
// CHECK: nvgpu.device_async_wait {{.*}} {numGroups = 1 : i32}
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK: arith.constant 4611686293305360384 : i64
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-COUNT-3: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-COUNT-3: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: math.exp2
// CHECK-COUNT-8: vector.store {{.*}} : memref<64x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK: arith.constant 4611686293338849280 : i64
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// The staging tile is rewritten only after the end-of-step barrier.
// CHECK: memref.atomic_rmw addf
// CHECK: gpu.barrier
// CHECK: scf.yield
// dV: S^T = K Q^T (m64n64k16), P^T staged, dV += P^T dO with dO MN-major.
// dO is read only by the last product: one buffer, refilled after the
// step. Shared memory: K, Q (two buffers), dO, the staging tile, the row
// arrays (2 x 128 f32, twice) and the slack: 4 * 8192 + 8192 + 2048 + 1024.
// CHECK: gpu.launch {{.*}} dynamic_shared_memory_size %c44032_i32 module(@dash_sparse_attention_grad_value)
// CHECK: gpu.dynamic_shared_memory {dash.min_ctas_per_sm = 3 : i64}
// CHECK: scf.for
// The next Q and row arrays are one group; this step's dO may still fly.
// CHECK: nvgpu.device_async_create_group
// CHECK: nvgpu.device_async_wait {{.*}} {numGroups = 2 : i32}
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-COUNT-3: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: math.exp2
// CHECK: vector.store {{.*}} : memref<64x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// P^T is published with this step's dO: only the next Q may still fly.
// CHECK: nvgpu.device_async_wait {{.*}} {numGroups = 1 : i32}
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// CHECK-NOT: nvvm.wgmma.mma_async
// Then the next dO, once every warp is done with this one.
// CHECK: gpu.barrier
// CHECK: nvgpu.device_async_copy %arg6
// CHECK: nvgpu.device_async_create_group
// CHECK: scf.yield
// dK: S^T and dP^T = V dO^T in one group, dS^T staged, dK += dS^T Q with Q
// MN-major; V takes one more tile.
// CHECK: gpu.launch {{.*}} dynamic_shared_memory_size %c61440_i32 module(@dash_sparse_attention_grad_key)
// CHECK: scf.for
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-COUNT-3: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-NEXT: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-COUNT-3: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-NEXT: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: math.exp2
// CHECK: vector.store {{.*}} : memref<64x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// CHECK: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// CHECK-NOT: nvvm.wgmma.mma_async
// CHECK: gpu.barrier
// CHECK: scf.yield
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
