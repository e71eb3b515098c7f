// With the toolkit's ptxas, the kernels are assembled to cubin for sm_90a
// and sm_80 (ptxas accepts them).
// REQUIRES: ptxas
// RUN: dash-opt %s --dash-nvvm-pipeline | FileCheck %s
// RUN: dash-opt %s --dash-nvvm-pipeline="chip=sm_80" | FileCheck %s --check-prefix=SM80
// CHECK: gpu.binary @{{.*}} [#gpu.object<#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80">, properties = {ISAToBinaryTimeInMs
// SM80: gpu.binary @{{.*}} [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">, properties = {ISAToBinaryTimeInMs
func.func @attention(%q: tensor<1x4x40x8xf32>, %k: tensor<1x2x40x8xf32>, %v: tensor<1x2x40x8xf32>)
    -> tensor<1x4x40x8xf32> {
  %o = dash.attention %q, %k, %v {block_size = 16}
      : tensor<1x4x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x8xf32> -> tensor<1x4x40x8xf32>
  return %o : tensor<1x4x40x8xf32>
}
