#!/usr/bin/env bash
# Installs, builds and runs every test: C++ (GoogleTest via ctest), the same C++ tests
# under ASan/UBSan, a short libFuzzer run of each fuzz target, and the Python tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export PATH="$PWD/.venv/bin:$PATH"
JOBS=${JOBS:-$(nproc)}

echo "== C++ tests"
cmake -S . -B build/test -G Ninja -DGTN_BUILD_TESTS=ON -DGTN_BUILD_CLI=ON >/dev/null
cmake --build build/test -j "$JOBS"
ctest --test-dir build/test --output-on-failure -j "$JOBS"

echo "== C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DGTN_SANITIZE=ON -DGTN_BUILD_TESTS=ON -DGTN_BUILD_CLI=OFF >/dev/null
cmake --build build/asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build/asan --output-on-failure -j "$JOBS" -LE slow

if [ -f fuzz/CMakeLists.txt ]; then
  echo "== short fuzz runs (longer: see docs/testing.md)"
  CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGTN_BUILD_FUZZ=ON -DGTN_BUILD_CLI=OFF >/dev/null
  cmake --build build/fuzz -j "$JOBS"
  for f in build/fuzz/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    mkdir -p "build/fuzz/corpus/$name"
    "$f" -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=2048 "build/fuzz/corpus/$name" fuzz/seeds/"${name#fuzz_}" 2>&1 | tail -2
  done
fi

echo "== Python tests"
python -m pytest -q tests/python tests/ml
