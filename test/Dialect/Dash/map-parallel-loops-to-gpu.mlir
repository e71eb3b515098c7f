// RUN: dash-opt %s --split-input-file --dash-map-parallel-loops-to-gpu="threads-per-block=64" | FileCheck %s
// RUN: not dash-opt %s --dash-map-parallel-loops-to-gpu="threads-per-block=2000" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BAD

// A 3-D loop is collapsed to one dimension of 2*3*100 = 600 iterations and
// tiled by 64: tiles map to blocks, iterations in a tile to threads; the loop
// nested in it stays sequential.
// CHECK-LABEL: func @collapse
// CHECK: scf.parallel (%[[T:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}})
// CHECK: %[[N:.*]] = affine.min
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[N]])
// CHECK: scf.parallel
// CHECK: {mapping = [#gpu.loop_dim_map<processor = sequential, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// CHECK: {mapping = [#gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// CHECK: {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// BAD: error: threads-per-block must be in [1, 1024]
func.func @collapse(%m: memref<2x3x100xf32>, %n: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c100 = arith.constant 100 : index
  %cst = arith.constant 1.0 : f32
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%c2, %c3, %c100) step (%c1, %c1, %c1) {
    memref.store %cst, %m[%i, %j, %k] : memref<2x3x100xf32>
    scf.parallel (%l) = (%c0) to (%c4) step (%c1) {
      memref.store %cst, %n[%l] : memref<4xf32>
    }
  }
  return
}
