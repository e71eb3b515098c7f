// RUN: dash-opt %s --dash-cpu-pipeline | FileCheck %s
// RUN: dash-opt %s --dash-cpu-pipeline="results-to-out-params=false c-wrappers=false fuse-elementwise=false" | FileCheck %s --check-prefix=PLAIN

// Everything reaches the LLVM dialect: results become out-parameters, a C
// wrapper takes memref descriptors by pointer, and no call needs MLIR's
// runner library (memrefCopy).
// CHECK-NOT: dash.
// CHECK-NOT: linalg.
// CHECK-NOT: memrefCopy
// CHECK: llvm.func @attention(
// CHECK: llvm.func @_mlir_ciface_attention(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK-NOT: memrefCopy

// PLAIN-NOT: _mlir_ciface_attention
// PLAIN: llvm.func @attention({{.*}}) -> !llvm.struct<(struct<(ptr, ptr, i64, array<4 x i64>, array<4 x i64>)>, struct<(ptr, ptr, i64, array<3 x i64>, array<3 x i64>)>, struct<(ptr, ptr, i64, array<3 x i64>, array<3 x i64>)>)>
func.func @attention(%q: tensor<1x4x40x8xf32>, %k: tensor<1x2x40x8xf32>, %v: tensor<1x2x40x8xf32>)
    -> (tensor<1x4x40x8xf32>, tensor<1x4x40xf32>, tensor<1x2x40xi32>) {
  %o, %lse, %counts = dash.attention %q, %k, %v {block_size = 16}
      : tensor<1x4x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x8xf32>
      -> tensor<1x4x40x8xf32> lse tensor<1x4x40xf32> counts tensor<1x2x40xi32>
  return %o, %lse, %counts : tensor<1x4x40x8xf32>, tensor<1x4x40xf32>, tensor<1x2x40xi32>
}
