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

echo "== C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer"
# Unity build (a target's sources compiled 8 to a file) and line tables only (-g1, all a
# sanitizer report prints): the two cut this build's time by about half.
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DCMAKE_UNITY_BUILD=ON -DGTN_SANITIZE=ON -DGTN_BUILD_TESTS=ON -DGTN_BUILD_CLI=OFF >/dev/null
cmake --build build/asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build/asan --output-on-failure -j "$JOBS" -LE slow

echo "== short fuzz runs, ${FUZZ_SECONDS:-20} s each (longer runs: docs/development.md)"
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_UNITY_BUILD=ON \
  -DGTN_BUILD_FUZZ=ON -DGTN_BUILD_CLI=OFF >/dev/null
cmake --build build/fuzz -j "$JOBS" --target fuzz_manifest fuzz_chunk fuzz_encoder fuzz_query
for name in manifest chunk encoder query; do
  mkdir -p "build/fuzz/corpus/$name"
  echo "fuzz_$name:"
  "build/fuzz/fuzz/fuzz_$name" -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=2048 \
    "build/fuzz/corpus/$name" "fuzz/seeds/$name" 2>&1 | tail -n 1
done

echo "== Python tests"
GTN_CLI="$PWD/.venv/bin/gtn" python -m pytest -q tests/python tests/ml
