# Sourced by the GPU-host scripts: $here is the repository root. Unpacks the
# MLIR runtime .debs carried in .gpu/debs, puts them and the CUDA toolkit on
# the search paths, and makes $out (from $OUT, default ./gpu-out).
out=${OUT:-$here/gpu-out}
mkdir -p "$out" /tmp/mlir
for deb in "$here"/.gpu/debs/*.deb; do dpkg -x "$deb" /tmp/mlir; done
export LD_LIBRARY_PATH=/tmp/mlir/usr/lib/llvm-22/lib:/tmp/mlir/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export PATH=/usr/local/cuda/bin:$PATH CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
