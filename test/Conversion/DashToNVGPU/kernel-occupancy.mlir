// RUN: dash-opt %s --split-input-file --dash-kernel-occupancy="shared-memory-per-sm=233472" | FileCheck %s --check-prefix=SM90
// RUN: dash-opt %s --split-input-file --dash-kernel-occupancy="shared-memory-per-sm=167936" | FileCheck %s --check-prefix=SM80
// RUN: dash-opt %s --split-input-file --dash-kernel-occupancy | FileCheck %s --check-prefix=UNKNOWN

// Three CTAs of 68 KiB (plus 1 KiB each for the driver) fit 228 KiB, two
// fit 164 KiB; without a shared-memory size the hint is dropped. The hint
// leaves the body either way. Errors: kernel-occupancy-invalid.mlir.
// SM90-LABEL: gpu.func @fine
// SM90-SAME: nvvm.minctasm = 3 : i32
// SM90-NOT: dash.min_ctas_per_sm
// SM80-LABEL: gpu.func @fine
// SM80-SAME: nvvm.minctasm = 2 : i32
// UNKNOWN-LABEL: gpu.func @fine
// UNKNOWN-NOT: nvvm.minctasm
// UNKNOWN-NOT: dash.min_ctas_per_sm
module attributes {gpu.container_module} {
  func.func @host() {
    %c1 = arith.constant 1 : index
    %shared = arith.constant 69632 : i32
    gpu.launch_func @fine::@fine blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) dynamic_shared_memory_size %shared
    return
  }
  gpu.module @fine {
    gpu.func @fine() kernel {
      %memory = gpu.dynamic_shared_memory {dash.min_ctas_per_sm = 3 : i64} : memref<?xi8, #gpu.address_space<workgroup>>
      gpu.return
    }
  }
}

// -----

// A kernel without a hint is left alone.
// SM90-LABEL: gpu.func @plain
// SM90-NOT: nvvm.minctasm
module attributes {gpu.container_module} {
  gpu.module @plain {
    gpu.func @plain() kernel {
      gpu.return
    }
  }
}
