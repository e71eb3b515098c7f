#!/usr/bin/env bash
# `make fuzz`: builds dash-fuzz (clang, libFuzzer, ASan + UBSan) in its own
# build directory and runs it for FUZZ_SECONDS on a corpus seeded from every
# lit test input. Prints the number of executions and the findings; exits 1
# when there is a finding (saved under $FUZZ_BUILD/fuzz/findings/).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
JOBS=${JOBS:-$(nproc)}
CC=${FUZZ_CC:-clang}
CXX=${FUZZ_CXX:-clang++}

if ! command -v "$CXX" >/dev/null ||
  ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char *, long) { return 0; }' |
  "$CXX" -x c++ -fsanitize=fuzzer,address - -o /dev/null 2>/dev/null; then
  echo "make fuzz needs clang with libFuzzer: apt-get install clang" \
    "libclang-rt-14-dev (or set FUZZ_CC and FUZZ_CXX)" >&2
  exit 1
fi
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
    -DDASH_ENABLE_FUZZER=ON -DDASH_SANITIZE=ON
fi
cmake --build "$BUILD" --target dash-fuzz -j"$JOBS"

work="$BUILD/fuzz"
seeds="$work/seeds"
corpus="$work/corpus"
findings="$work/findings"
rm -rf "$seeds" "$findings"
mkdir -p "$seeds" "$corpus" "$findings"
# One seed per `// -----` section, as dash-opt --split-input-file reads them.
find test examples -name '*.mlir' -not -path '*/Inputs/*' | sort |
  while read -r file; do
    name=$(echo "$file" | tr '/' '_')
    awk -v out="$seeds/$name" '
      BEGIN { part = 0; path = out "." part }
      /^\/\/ -----/ { close(path); part++; path = out "." part; next }
      { print > path }' "$file"
  done

log="$work/last-run.log"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
  "$BUILD/bin/dash-fuzz" "$corpus" "$seeds" \
  -max_total_time="$FUZZ_SECONDS" -dict=fuzz/dash.dict \
  -timeout=60 -rss_limit_mb=4096 -max_len=16384 -print_final_stats=1 \
  -artifact_prefix="$findings/" >"$log" 2>&1 || true

# libFuzzer stops at the first finding; its last status line has the count.
executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
if [ -z "$executions" ]; then
  executions=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -1)
fi
found=$(find "$findings" -type f | wc -l)
echo "dash-fuzz: ${executions:-0} executions (limit ${FUZZ_SECONDS}s)," \
  "$(find "$corpus" -type f | wc -l) corpus inputs, $found findings" \
  "(log: $log)"
if [ "$found" -ne 0 ]; then
  find "$findings" -type f
  grep -m1 -E "ERROR|dash-fuzz:|runtime error" "$log" || true
  exit 1
fi
