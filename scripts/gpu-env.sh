# Sourced by the GPU-host scripts: $here is the repository root. Unpacks the
# MLIR runtime .debs carried in .gpu/debs, puts them and the CUDA toolkit on
# the search paths, and makes $out (from $OUT, default ./gpu-out).
out=${OUT:-$here/gpu-out}
mkdir -p "$out" /tmp/mlir
for deb in "$here"/.gpu/debs/*.deb; do dpkg -x "$deb" /tmp/mlir; done
export LD_LIBRARY_PATH=/tmp/mlir/usr/lib/llvm-22/lib:/tmp/mlir/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export PATH=/usr/local/cuda/bin:$PATH CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}

# compute-sanitizer tool $1 on a small bf16 case (N = 200, G = 4, D = 64,
# with W), which runs the tensor-core kernels (warpgroup mma on sm_90a), not
# the generic f32 ones; its log goes to $out/$1.log. Prints a summary line.
sanitize() {
  ${SANITIZE_TIMEOUT:+timeout $SANITIZE_TIMEOUT} compute-sanitizer --tool "$1" \
    --error-exitcode 9 "$here/.gpu/bin/DashGPUTests" \
    --gtest_filter='Matrix/CudaAttention.ForwardAndBackwardMatchOracle/6' \
    >"$out/$1.log" 2>&1
  echo "$1 rc=$? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/$1.log" | tail -1)"
}
