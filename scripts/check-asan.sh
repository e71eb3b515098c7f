#!/usr/bin/env bash
# `make check-asan`: every test again, with Dash built with AddressSanitizer
# and UBSan (DASH_SANITIZE) in its own build directory. A report aborts the
# test process, so even a test that expects a failure (`not`) fails. Tests
# that load Dash into a host that is not instrumented get the ASan runtime
# preloaded through their ctest ENVIRONMENT (see CMakeLists.txt), so one
# ctest run covers every test and the output ends with its summary.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${ASAN_BUILD:-build-asan}
JOBS=${JOBS:-$(nproc)}

if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDASH_SANITIZE=ON
fi
cmake --build "$BUILD" -j"$JOBS"
cd "$BUILD"
UBSAN_OPTIONS=print_stacktrace=1:abort_on_error=1 ASAN_OPTIONS=abort_on_error=1 \
  ctest --output-on-failure -j"$JOBS"
