#!/usr/bin/env bash
# Runs Dash's GPU tests on a GPU host without MLIR packages: unpacks the MLIR
# runtime .debs carried in .gpu/debs, runs the CUDA tests and the sanitizers,
# and writes logs to $OUT (or ./gpu-out). Usage: scripts/gpu-host-check.sh
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/scripts/gpu-env.sh"
bin="$here/.gpu/bin"
{
  echo "card: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
  echo "commit: $(cat "$here/.gpu/commit" 2>/dev/null)"
  echo "ptxas: $(ptxas --version | tail -1)"
} | tee "$out/summary.txt"
"$bin/DashGPUTests" --gtest_color=no 2>&1 | tee "$out/gpu-tests.log" | grep -E "^\[ +(OK|FAILED|SKIPPED|RESULT) +\]|rel_l2|Failure|error"
tests_rc=${PIPESTATUS[0]}
# The C API's CUDA paths (disk cache artifacts, device strides, functions on
# device buffers); libDashC comes from .gpu/lib.
if [ -x "$bin/DashCAPITests" ]; then
  LD_LIBRARY_PATH="$here/.gpu/lib:$LD_LIBRARY_PATH" "$bin/DashCAPITests" \
    --gtest_color=no --gtest_filter='CudaCAPI.*' >"$out/capi-tests.log" 2>&1
  echo "capi cuda tests rc=$? ($(grep -c '^\[       OK \]' "$out/capi-tests.log") ok, $(grep -c '^\[  FAILED  \]' "$out/capi-tests.log") failed lines)" | tee -a "$out/summary.txt"
fi
# dash-run on the GPU: forward and backward against the oracle, CUDA-event
# medians of the generic (correctness-first) kernels.
runs=(
  "--attention 1,8,2,1024,64 --gamma 8 --with-w --prior raw --backward --repeat 5"
  "--attention 1,16,2,1000,128 --dtype bf16 --prior centered --backward --repeat 5"
  "--attention 1,8,1,4096,64 --gamma 8 --prior flat --repeat 5"
)
for args in "${runs[@]}"; do
  echo "== dash-run --target cuda $args" >>"$out/dash-run.log"
  "$bin/dash-run" --target cuda $args >>"$out/dash-run.log" 2>&1
  echo "dash-run $args -> rc=$? $(tail -1 "$out/dash-run.log")"
done | tee -a "$out/summary.txt"
# Ahead of time: dash-run (checked against the oracle) writes the artifact
# and its inputs and outputs; dash-aot-run, which links no LLVM or MLIR,
# reruns it; the outputs must be identical.
aot() {
  local name=$1; shift
  local dir=/tmp/aot-$name
  rm -rf "$dir" && mkdir -p "$dir/in" "$dir/out"
  "$bin/dash-run" --target cuda "$@" --emit-aot "$dir/artifact" --save "$dir/in" >"$out/aot-$name.log" 2>&1 || { echo "aot $name: dash-run failed"; return; }
  "$bin/dash-aot-run" "$dir/artifact" --inputs "$dir/in" --outputs "$dir/out" --repeat 3 >>"$out/aot-$name.log" 2>&1 || { echo "aot $name: dash-aot-run failed: $(tail -1 "$out/aot-$name.log")"; return; }
  local same=1
  for f in "$dir"/out/*.npy; do cmp -s "$f" "$dir/in/$(basename "$f")" || same=0; done
  echo "aot $name: outputs identical=$same; $(grep 'dash-aot-run:' "$out/aot-$name.log"); runner needs: $(ldd "$bin/dash-aot-run" | grep -c -i -E 'llvm|mlir') LLVM/MLIR libraries"
}
{
  aot forward --attention 1,8,2,512,64 --gamma 8 --with-w --prior raw
  aot backward --attention 1,8,2,512,64 --gamma 8 --with-w --prior raw --backward
} | tee -a "$out/summary.txt"
# PyTorch: dash.pytorch on CUDA against dash.torch_reference (float64),
# opcheck, compile, DDP, training (python/tests/gpu_torch_check.py); the
# oracle's own tests on the CPU; the training example. All in torch.log.
if [ -f "$here/.gpu/lib/libDashC.so" ]; then
  export DASH_LIBRARY="$here/.gpu/lib/libDashC.so" PYTHONUNBUFFERED=1
  {
    # Its table file stays out of $OUT (torch.log has the table too).
    OUT=/tmp/dash-torch python3 "$here/python/tests/gpu_torch_check.py"
    echo "gpu_torch_check rc=$?"
    (cd "$here/python" && python3 -m unittest tests.test_torch_reference)
    echo "test_torch_reference (CPU) rc=$?"
    python3 "$here/examples/torch_train.py"
    echo "examples/torch_train.py rc=$?"
  } >"$out/torch.log" 2>&1
  grep -E '^gpu_torch_check|[|] FAIL [|]|rc=[0-9]+$|^loss .* -> |^(OK|FAILED)' "$out/torch.log" | sed 's/^/torch: /' | tee -a "$out/summary.txt"
fi
{
  echo "gpu tests rc=$tests_rc ($(grep -c '^\[       OK \]' "$out/gpu-tests.log") ok, $(grep -c '^\[  FAILED  \]' "$out/gpu-tests.log") failed lines)"
  sanitize memcheck
  sanitize racecheck
} | tee -a "$out/summary.txt"
