// RUN: dash-opt %s --split-input-file --dash-kernel-occupancy="shared-memory-per-sm=233472" --verify-diagnostics

module attributes {gpu.container_module} {
  gpu.module @bad {
    gpu.func @bad() kernel {
      // expected-error @below {{dash.min_ctas_per_sm must be a positive integer, got "three"}}
      %memory = gpu.dynamic_shared_memory {dash.min_ctas_per_sm = "three"} : memref<?xi8, #gpu.address_space<workgroup>>
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @two {
    gpu.func @two() kernel {
      %a = gpu.dynamic_shared_memory {dash.min_ctas_per_sm = 3 : i64} : memref<?xi8, #gpu.address_space<workgroup>>
      // expected-error @below {{a second dash.min_ctas_per_sm (2) differs from the kernel's first (3)}}
      %b = gpu.dynamic_shared_memory {dash.min_ctas_per_sm = 2 : i64} : memref<?xi8, #gpu.address_space<workgroup>>
      gpu.return
    }
  }
}
