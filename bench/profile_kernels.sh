#!/usr/bin/env bash
# Kernel-level durations under Nsight Compute (same clock and cache control
# for every kernel): Dash's fine-attention and block-list kernels at the
# benchmark shapes and densities, and PyTorch SDPA's dense causal kernels
# (flash and cuDNN) on the same card. With BACKWARD=1 Dash's runs also
# compile and run the gradient function (every kernel of the backward).
# Usage (GPU host, repo root, .gpu/ carried): bench/profile_kernels.sh
# [N ...]; SHAPES, GAMMAS and SDPA=0 (skip the peers) narrow it; writes
# $OUT/profile-*.csv and prints a table.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/scripts/gpu-env.sh"
ncu=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
lengths=${*:-16384}
metrics=gpu__time_duration.sum
for n in $lengths; do
  for shape in ${SHAPES:-32,2 16,16}; do
    for gamma in ${GAMMAS:-0.01 4 16}; do
      tag="dash-h${shape/,/-}-n$n-g$gamma${BACKWARD:+-bwd}"
      "$ncu" --kernel-name regex:dash_ --metrics $metrics --csv \
        "$here/.gpu/bin/dash-run" --target cuda --attention "1,$shape,$n,128" \
        --dtype bf16 --block 64 --gamma "$gamma" --prior flat --no-check \
        --repeat 1 ${BACKWARD:+--backward} >"$out/profile-$tag.csv" 2>&1
      echo "$tag rc=$? $(grep -o 'density [0-9.]*' "$out/profile-$tag.csv" | head -1)"
    done
    [ "${SDPA:-1}" = 0 ] && continue
    tag="sdpa-h${shape/,/-}-n$n"
    "$ncu" --metrics $metrics --csv python3 "$here/bench/sdpa_kernels.py" \
      "$n" "${shape%,*}" "${shape#*,}" >"$out/profile-$tag.csv" 2>&1
    echo "$tag rc=$?"
  done
done
python3 - "$out" <<'PY'
import csv, glob, io, os, re, sys
rows = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "profile-*.csv"))):
    text = open(path).read()
    start = text.find('"ID"')
    if start < 0:
        continue
    marks = re.findall(r"MARK (\S+)", text)
    for r in csv.DictReader(io.StringIO(text[start:])):
        if r.get("Metric Name") != "gpu__time_duration.sum":
            continue
        unit = r["Metric Unit"]
        value = float(r["Metric Value"].replace(",", ""))
        ms = value / {"ns": 1e6, "nsecond": 1e6, "us": 1e3, "usecond": 1e3,
                      "ms": 1.0, "msecond": 1.0}[unit]
        rows.append((os.path.basename(path)[8:-4], r["Kernel Name"][:60], ms))
print(f"{'run':28} {'kernel':60} {'ms':>9}")
out = open(os.path.join(sys.argv[1], "profile-table.txt"), "w")
for run, kernel, ms in rows:
    if ms > 0.05 or kernel.startswith("dash_"):
        line = f"{run:28} {kernel:60} {ms:9.3f}"
        print(line)
        out.write(line + "\n")
PY
