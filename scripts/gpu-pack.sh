#!/usr/bin/env bash
# Fills .gpu/ (ignored by git) with what scripts/gpu-host-check.sh,
# scripts/gpu-perf-check.sh and the benchmark need on a GPU host that has no
# MLIR: the stripped GPU and C API tests, dash-run, dash-aot-run, libDashC,
# the sm_90a PTX of the tensor-core kernels at D = 128, the MLIR/LLVM
# runtime .debs and the commit they were built from. Carry `.gpu` to the
# host.
# Usage: scripts/gpu-pack.sh [build directory, default build]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
gpu=$here/.gpu
rm -rf "$gpu/bin" "$gpu/lib"
mkdir -p "$gpu/bin" "$gpu/lib" "$gpu/debs"
for f in unittests/GPU/DashGPUTests unittests/CAPI/DashCAPITests bin/dash-run \
         bin/dash-aot-run; do
  strip -o "$gpu/bin/$(basename "$f")" "$build/$f"
done
soname=$(readelf -d "$build/lib/libDashC.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
strip -o "$gpu/lib/$soname" "$build/lib/libDashC.so"
ln -sf "$soname" "$gpu/lib/libDashC.so"
rm -rf "$gpu/ptx" && mkdir -p "$gpu/ptx"
kernels=$(mktemp)
"$build/bin/dash-opt" "$here/test/Pipelines/tensor-core-kernel-resources.mlir" \
  --dash-nvvm-pipeline="format=isa" -o "$kernels"
for kernel in dash_router dash_sparse_attention dash_sparse_attention_grad_query \
              dash_sparse_attention_grad_key dash_sparse_attention_grad_value; do
  python3 "$here/test/Pipelines/Inputs/kernel_ptx.py" "$kernels" "$kernel" \
    >"$gpu/ptx/$kernel.ptx"
done
rm -f "$kernels"
if ! ls "$gpu"/debs/*.deb >/dev/null 2>&1; then
  (cd "$gpu/debs" && apt-get download libmlir-22 libllvm22 libz3-4)
fi
commit=$(git -C "$here" rev-parse --short HEAD)
git -C "$here" diff --quiet HEAD || commit="$commit+uncommitted"
echo "$commit" >"$gpu/commit"
du -sh "$gpu"
