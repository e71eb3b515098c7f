#!/usr/bin/env bash
# One device call (under 10 minutes on an H200) that checks and measures the
# library packed by scripts/gpu-pack.sh: DashGPUTests, the SASS of the
# tensor-core kernels (.gpu/ptx: registers, HGMMA/HMMA, local memory, ptxas
# warnings), the quick benchmark with the backward (both shapes, N = 32K),
# memcheck and racecheck on a bf16 case, and the kernel profile of the
# backward. With a second library in .gpu/libB (an experiment), its forward
# is benchmarked too, in the same call. Writes summary.txt, the benchmark's
# files and logs.tgz to $OUT (or ./gpu-out). Usage: scripts/gpu-perf-check.sh
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
results=${OUT:-$here/gpu-out}
mkdir -p "$results"
work=$(mktemp -d)
export OUT=$work
source scripts/gpu-env.sh
bin=.gpu/bin
say() { tee -a "$work/summary.txt" "$results/summary.txt"; }

echo "card: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader) commit: $(cat .gpu/commit)" | say
timeout 240 "$bin/DashGPUTests" --gtest_color=no >"$work/gpu-tests.log" 2>&1
echo "gpu tests rc=$? ok=$(grep -c '^\[       OK \]' "$work/gpu-tests.log") failed=$(grep -c '^\[  FAILED  \]' "$work/gpu-tests.log")" | say
for ptx in .gpu/ptx/*.ptx; do
  [ -f "$ptx" ] || continue
  name=$(basename "$ptx" .ptx)
  ptxas -arch=sm_90a -v "$ptx" -o "$work/$name.cubin" >"$work/$name.ptxas.txt" 2>&1
  cuobjdump --dump-sass "$work/$name.cubin" >"$work/$name.sass"
  rm -f "$work/$name.cubin"
  echo "$name: $(grep -oE 'Used [0-9]+ registers' "$work/$name.ptxas.txt" | tr '\n' ' ')hgmma=$(grep -c HGMMA "$work/$name.sass") hmma=$(grep -c HMMA "$work/$name.sass") local=$(grep -cE 'LDL|STL' "$work/$name.sass") warnings=$(grep -ciE 'warn|performance loss' "$work/$name.ptxas.txt")" | say
done
PYTHONUNBUFFERED=1 timeout 130 python3 bench/attention_bench.py --quick --backward \
  --shapes 8b,mha --seq-lens 32K --out "$work" >"$work/bench.log" 2>&1
echo "bench rc=$?" | say
if [ -f .gpu/libB/libDashC.so ]; then
  mkdir -p "$work/benchB"
  PYTHONUNBUFFERED=1 DASH_LIBRARY=$here/.gpu/libB/libDashC.so timeout 60 \
    python3 bench/attention_bench.py --quick --shapes 8b,mha --seq-lens 32K \
    --methods dash,dash-router --out "$work/benchB" >"$work/benchB.log" 2>&1
  echo "bench B rc=$?" | say
  grep -hE '\| dash' "$work"/benchB/*.md | sed 's/^/B: /' | say
fi
SANITIZE_TIMEOUT=40 sanitize memcheck | say
SANITIZE_TIMEOUT=40 sanitize racecheck | say
BACKWARD=1 SDPA=0 SHAPES="32,2 16,16" GAMMAS=4 timeout 80 bench/profile_kernels.sh 32768 \
  >"$work/profile.log" 2>&1
echo "profile rc=$?" | say
tar czf "$results/logs.tgz" -C "$work" .
cp "$work"/*.md "$work"/*.json "$work"/*.png "$results"/ 2>/dev/null
grep -iE 'MET|MISSED' "$work/bench.log" | tail -16
tail -42 "$work/profile.log"
