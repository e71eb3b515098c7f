// RUN: dash-opt %s --split-input-file --dash-memref-copy-to-linalg | FileCheck %s

// CHECK-LABEL: func @strided_copy
// CHECK-SAME: (%[[SRC:.*]]: memref<2x3xf32>, %[[DST:.*]]: memref<2x3xf32, strided<[4, 1]>>)
// CHECK-NEXT: linalg.copy ins(%[[SRC]] : memref<2x3xf32>) outs(%[[DST]] : memref<2x3xf32, strided<[4, 1]>>)
// CHECK-NEXT: return
func.func @strided_copy(%src: memref<2x3xf32>, %dst: memref<2x3xf32, strided<[4, 1]>>) {
  memref.copy %src, %dst : memref<2x3xf32> to memref<2x3xf32, strided<[4, 1]>>
  return
}

// -----

// Copies nested in regions are rewritten too; other ops are untouched.
// CHECK-LABEL: func @nested
// CHECK: scf.for
// CHECK-NEXT: linalg.copy
// CHECK-NOT: memref.copy
func.func @nested(%a: memref<4xi32>, %b: memref<4xi32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    memref.copy %a, %b : memref<4xi32> to memref<4xi32>
  }
  return
}
