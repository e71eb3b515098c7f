#!/usr/bin/env bash
# `make check-asan`: every test again, with Dash built with AddressSanitizer
# and UBSan (DASH_SANITIZE) in its own build directory. A report aborts the
# test process, so even a test that expects a failure (`not`) fails.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${ASAN_BUILD:-build-asan}
JOBS=${JOBS:-$(nproc)}

if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDASH_SANITIZE=ON
fi
cmake --build "$BUILD" -j"$JOBS"
cd "$BUILD"

export UBSAN_OPTIONS=print_stacktrace=1:abort_on_error=1
# These tests load Dash into a process that is not instrumented (mlir-opt with
# the plugins, Python over the C API): the ASan runtime must be loaded first,
# and the leaks of those hosts at exit are not Dash's.
hosted='^lit/Plugins/|^lit/examples/embedding|^python/'
# This one links Dash's installed, instrumented static libraries into a
# downstream project built without the sanitizer, which cannot link.
skipped='^lit/Embedding/downstream'
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' CMakeCache.txt)
status=0
ASAN_OPTIONS=abort_on_error=1 \
  ctest --output-on-failure -j"$JOBS" -E "$hosted|$skipped" || status=1
LD_PRELOAD=$("$cxx" -print-file-name=libasan.so) \
  ASAN_OPTIONS=abort_on_error=1:detect_leaks=0 \
  ctest --output-on-failure -j"$JOBS" -R "$hosted" || status=1
exit $status
