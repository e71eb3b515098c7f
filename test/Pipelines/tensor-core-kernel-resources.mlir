// ptxas's resource report for the tensor-core fine-attention kernel at
// D = 128 (the larger register footprint): no register spills on sm_90a and
// sm_80, since a spill would put local-memory traffic in the inner loop. On
// sm_90a no "Potential Performance Loss": ptxas serialises the wgmma
// pipeline (and says so, without failing) when a register of an unfinished
// wgmma is touched, e.g. P V's accumulators, left in flight across steps.
// REQUIRES: ptxas
// RUN: dash-opt %s --dash-nvvm-pipeline="format=isa" -o %t.mlir
// RUN: python3 %S/Inputs/kernel_ptx.py %t.mlir dash_sparse_attention > %t.ptx
// RUN: %ptxas -arch=sm_90a -v %t.ptx -o %t.cubin 2>&1 | FileCheck %s --implicit-check-not="Performance Loss"
// RUN: dash-opt %s --dash-nvvm-pipeline="format=isa chip=sm_80" -o %t80.mlir
// RUN: python3 %S/Inputs/kernel_ptx.py %t80.mlir dash_sparse_attention > %t80.ptx
// RUN: %ptxas -arch=sm_80 -v %t80.ptx -o %t80.cubin 2>&1 | FileCheck %s
// Its shared memory lets three CTAs share an sm_90 SM (4 swizzled tiles, P
// and 1 KiB of alignment slack: 73 KiB) and two an sm_80 one (4 padded
// tiles, 68 KiB); the PTX asks for that many (dash-kernel-occupancy).
// RUN: FileCheck %s --check-prefix=PTX90 < %t.ptx
// RUN: FileCheck %s --check-prefix=PTX80 < %t80.ptx

// The fused router (16-byte summary loads for the next chunk in flight, four
// accumulator chains per warp) likewise.
// RUN: python3 %S/Inputs/kernel_ptx.py %t.mlir dash_router > %t.router.ptx
// RUN: %ptxas -arch=sm_90a -v %t.router.ptx -o %t.router.cubin 2>&1 | FileCheck %s --implicit-check-not="Performance Loss" --check-prefix=ROUTER
// RUN: python3 %S/Inputs/kernel_ptx.py %t80.mlir dash_router > %t80.router.ptx
// RUN: %ptxas -arch=sm_80 -v %t80.router.ptx -o %t80.router.cubin 2>&1 | FileCheck %s --check-prefix=ROUTER

// The gradient kernels at D = 128 (dQ: 64 f32 accumulators a lane; dK/dV:
// 128 with mma.sync; on sm_90a dK and dV are separate kernels of 64 each)
// likewise.
// RUN: python3 %S/Inputs/kernel_ptx.py %t.mlir dash_sparse_attention_grad_query > %t.dq.ptx
// RUN: %ptxas -arch=sm_90a -v %t.dq.ptx -o %t.dq.cubin 2>&1 | FileCheck %s --implicit-check-not="Performance Loss" --check-prefix=DQ
// RUN: python3 %S/Inputs/kernel_ptx.py %t80.mlir dash_sparse_attention_grad_query > %t80.dq.ptx
// RUN: %ptxas -arch=sm_80 -v %t80.dq.ptx -o %t80.dq.cubin 2>&1 | FileCheck %s --check-prefix=DQ
// RUN: python3 %S/Inputs/kernel_ptx.py %t.mlir dash_sparse_attention_grad_key > %t.dk.ptx
// RUN: %ptxas -arch=sm_90a -v %t.dk.ptx -o %t.dk.cubin 2>&1 | FileCheck %s --implicit-check-not="Performance Loss" --check-prefix=DK
// RUN: python3 %S/Inputs/kernel_ptx.py %t.mlir dash_sparse_attention_grad_value > %t.dv.ptx
// RUN: %ptxas -arch=sm_90a -v %t.dv.ptx -o %t.dv.cubin 2>&1 | FileCheck %s --implicit-check-not="Performance Loss" --check-prefix=DV
// The dV kernel's one dO buffer brings it to 75 KiB, three CTAs an SM (4
// tiles of 16 KiB, the staging tile, the row arrays, the slack).
// RUN: FileCheck %s --check-prefix=PTXDV < %t.dv.ptx
// PTXDV: .entry dash_sparse_attention_grad_value(
// PTXDV: .minnctapersm 3
// RUN: python3 %S/Inputs/kernel_ptx.py %t80.mlir dash_sparse_attention_grad_key_value > %t80.dkv.ptx
// RUN: %ptxas -arch=sm_80 -v %t80.dkv.ptx -o %t80.dkv.cubin 2>&1 | FileCheck %s --check-prefix=DKV
// And the routing-logit gradient's two products.
// RUN: python3 %S/Inputs/kernel_ptx.py %t.mlir dash_route_logits_grad_query > %t.rq.ptx
// RUN: %ptxas -arch=sm_90a -v %t.rq.ptx -o %t.rq.cubin 2>&1 | FileCheck %s --implicit-check-not="Performance Loss" --check-prefix=RQ
// RUN: python3 %S/Inputs/kernel_ptx.py %t.mlir dash_route_logits_grad_summaries > %t.rs.ptx
// RUN: %ptxas -arch=sm_90a -v %t.rs.ptx -o %t.rs.cubin 2>&1 | FileCheck %s --implicit-check-not="Performance Loss" --check-prefix=RS

// CHECK: Compiling entry function 'dash_sparse_attention'
// CHECK: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// CHECK: Used {{[0-9]+}} registers
// PTX90: .entry dash_sparse_attention(
// PTX90: .minnctapersm 3
// PTX80: .entry dash_sparse_attention(
// PTX80: .minnctapersm 2
// ROUTER: Compiling entry function 'dash_router'
// ROUTER: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// DQ: Compiling entry function 'dash_sparse_attention_grad_query'
// DQ: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// DKV: Compiling entry function 'dash_sparse_attention_grad_key_value'
// DKV: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// DK: Compiling entry function 'dash_sparse_attention_grad_key'
// DK: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// DV: Compiling entry function 'dash_sparse_attention_grad_value'
// DV: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// RQ: Compiling entry function 'dash_route_logits_grad_query'
// RQ: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// RS: Compiling entry function 'dash_route_logits_grad_summaries'
// RS: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
func.func @d128(%q: tensor<1x4x256x128xbf16>, %k: tensor<1x2x256x128xbf16>, %v: tensor<1x2x256x128xbf16>)
    -> tensor<1x4x256x128xbf16> {
  %o = dash.attention %q, %k, %v {block_size = 64}
      : tensor<1x4x256x128xbf16>, tensor<1x2x256x128xbf16>, tensor<1x2x256x128xbf16> -> tensor<1x4x256x128xbf16>
  return %o : tensor<1x4x256x128xbf16>
}

func.func @d128_grad(%q: tensor<1x4x256x128xbf16>, %k: tensor<1x2x256x128xbf16>,
                     %v: tensor<1x2x256x128xbf16>, %o: tensor<1x4x256x128xbf16>,
                     %lse: tensor<1x4x256xf32>, %do: tensor<1x4x256x128xbf16>)
    -> (tensor<1x4x256x128xbf16>, tensor<1x2x256x128xbf16>, tensor<1x2x256x128xbf16>) {
  %dq, %dk, %dv = dash.attention_grad %q, %k, %v output %o lse %lse grad %do {block_size = 64}
      : tensor<1x4x256x128xbf16>, tensor<1x2x256x128xbf16>, tensor<1x2x256x128xbf16>,
        tensor<1x4x256x128xbf16>, tensor<1x4x256xf32>, tensor<1x4x256x128xbf16>
      -> tensor<1x4x256x128xbf16>, tensor<1x2x256x128xbf16>, tensor<1x2x256x128xbf16>
  return %dq, %dk, %dv : tensor<1x4x256x128xbf16>, tensor<1x2x256x128xbf16>, tensor<1x2x256x128xbf16>
}
