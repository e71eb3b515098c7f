// The fine attention of a bf16 attention with 64-token blocks and D = 128
// runs on the tensor-core kernels: 16-byte cp.async into shared memory, ex2
// for the online softmax, and on sm_90a warpgroup mma (m64n64k16 for
// Q K^T, m64n128k16 with V transposed for P V, f32 accumulation); on sm_80
// m16n8k16 bf16 mma.sync fed by ldmatrix (plain for Q and K, transposed for
// V). tensor-cores=false keeps the generic kernels.
// RUN: dash-opt %s --dash-nvvm-pipeline="format=isa" | FileCheck %s --check-prefixes=CHECK,SM90
// RUN: dash-opt %s --dash-nvvm-pipeline="format=isa chip=sm_80" | FileCheck %s --check-prefixes=CHECK,SM80
// RUN: dash-opt %s --dash-nvvm-pipeline="format=isa tensor-cores=false" | FileCheck %s --check-prefix=GENERIC

// CHECK-LABEL: llvm.func @attention(
// CHECK: gpu.launch_func @dash_block_lists::@dash_block_lists
// CHECK: gpu.launch_func @dash_sparse_attention::@dash_sparse_attention {{.*}} dynamic_shared_memory_size
// The order of the instructions in the PTX depends on how LLVM rotates the
// loop, so only their presence in the kernel (the last binary) is checked.
// SM90: gpu.binary @dash_sparse_attention {{.*}}assembly = "
// SM90-DAG: cp.async.cg.shared.global
// SM90-DAG: fence.proxy.async.shared::cta
// SM90-DAG: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// SM90-DAG: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}, 1, 1, 0, 1;
// SM90-DAG: ex2.approx
// SM80: gpu.binary @dash_sparse_attention {{.*}}assembly = "{{.*}}cp.async.cg.shared.global{{.*}}ldmatrix.sync.aligned.m8n8.x4.shared.b16{{.*}}ex2.approx{{.*}}ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16{{.*}}mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// GENERIC-NOT: dash_sparse_attention
// GENERIC-NOT: mma.sync
func.func @attention(%q: tensor<1x4x200x128xbf16>, %k: tensor<1x2x200x128xbf16>, %v: tensor<1x2x200x128xbf16>)
    -> (tensor<1x4x200x128xbf16>, tensor<1x4x200xf32>) {
  %o, %lse = dash.attention %q, %k, %v {block_size = 64}
      : tensor<1x4x200x128xbf16>, tensor<1x2x200x128xbf16>, tensor<1x2x200x128xbf16>
      -> tensor<1x4x200x128xbf16> lse tensor<1x4x200xf32>
  return %o, %lse : tensor<1x4x200x128xbf16>, tensor<1x4x200xf32>
}
