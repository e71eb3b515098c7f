// RUN: dash-opt %s --split-input-file --dash-host-buffers-to-gpu | FileCheck %s

// Host allocations become device allocations (async forms, waited at once);
// a constant is copied to a device buffer freed before the return; buffers
// inside kernels are left alone.
// CHECK-LABEL: func @host
// CHECK: %[[T0:.*]] = gpu.wait async
// CHECK: %[[BUF:.*]], %[[T1:.*]] = gpu.alloc async [%[[T0]]] () : memref<16xf32>
// CHECK: gpu.wait [%[[T1]]]
// CHECK: %[[G:.*]] = memref.get_global @zeros
// CHECK: %[[DEV:.*]], %{{.*}} = gpu.alloc async
// CHECK: gpu.memcpy async [%{{.*}}] %[[DEV]], %[[G]]
// CHECK: linalg.copy ins(%[[DEV]] : memref<16xf32>) outs(%[[BUF]] : memref<16xf32>)
// CHECK: gpu.dealloc async [%{{.*}}] %[[BUF]]
// CHECK: gpu.launch
// CHECK: memref.alloca
// CHECK: gpu.dealloc async [%{{.*}}] %[[DEV]]
// CHECK-NEXT: gpu.wait
// CHECK-NEXT: return
memref.global "private" constant @zeros : memref<16xf32> = dense<0.0>
func.func @host(%out: memref<16xf32>) {
  %buf = memref.alloc() : memref<16xf32>
  %g = memref.get_global @zeros : memref<16xf32>
  linalg.copy ins(%g : memref<16xf32>) outs(%buf : memref<16xf32>)
  memref.dealloc %buf : memref<16xf32>
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1) threads(%tx, %ty, %tz) in (%a = %c1, %b = %c1, %c = %c1) {
    %local = memref.alloca() : memref<4xf32>
    gpu.terminator
  }
  return
}
