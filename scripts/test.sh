#!/usr/bin/env bash
# Installs, builds and runs every test: C++ (GoogleTest via ctest), the same C++ tests
# under ASan/UBSan, a short libFuzzer run of each fuzz target, and the Python tests
# against the installed package.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export PATH="$PWD/.venv/bin:$PATH"
JOBS=${JOBS:-$(nproc)}

# `pip install .` built the library, the CLI and the C++ tests here (see setup.sh).
BUILD=$(ls -d build/cp3*-*/ | head -n 1)
echo "== C++ tests ($BUILD)"
ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS"

echo "== C++ tests and fuzz targets under AddressSanitizer + UndefinedBehaviorSanitizer (clang)"
# One clang build serves both the sanitizer run of the C++ tests and the libFuzzer targets
# (which need clang): a unity build (a target's sources compiled 8 to a file) with line
# tables only (-g1, all a sanitizer report prints). See docs/development.md.
CC=clang CXX=clang++ cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DCMAKE_UNITY_BUILD=ON -DGTN_SANITIZE=ON -DGTN_BUILD_FUZZ=ON -DGTN_BUILD_TESTS=ON -DGTN_BUILD_CLI=OFF >/dev/null
cmake --build build/asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build/asan --output-on-failure -j "$JOBS" -LE slow

echo "== short fuzz runs, ${FUZZ_SECONDS:-20} s each (longer runs: docs/development.md)"
for name in manifest chunk encoder query; do
  mkdir -p "build/asan/corpus/$name"
  echo "fuzz_$name:"
  "build/asan/fuzz/fuzz_$name" -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=2048 \
    "build/asan/corpus/$name" "fuzz/seeds/$name" 2>&1 | tail -n 1
done

echo "== Python tests"
GTN_CLI="$PWD/.venv/bin/gtn" python -m pytest -q tests/python tests/ml
