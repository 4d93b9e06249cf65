#!/usr/bin/env bash
# Installs everything GTN needs on a fresh Debian 12 machine and builds it:
#   - C++ libraries and tools from Debian (apt-get),
#   - a virtual environment .venv with the Python packages from PyPI,
#   - the gtn Python package (C++ core + `gtn` CLI) via `pip install .`.
# Usage: scripts/setup.sh [--test]
#   --test also installs the test-only packages and builds the C++ tests in the same
#   CMake build folder that `pip install .` uses (build/<wheel tag>), so the suite
#   compiles the library once.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(build-essential cmake ninja-build pkg-config git
  libzstd-dev liblz4-dev libxxhash-dev libjpeg62-turbo-dev libturbojpeg0-dev libpng-dev zlib1g-dev
  libopenblas-dev libicu-dev nlohmann-json3-dev libcli11-dev libfmt-dev libcairo2-dev fonts-dejavu-core
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev python3-venv)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
export PATH="$PWD/.venv/bin:$PATH"
pip install -q --disable-pip-version-check --upgrade pip
pip install -q --disable-pip-version-check -r requirements/build.txt
PIP_BUILD_ARGS=()
if [ "${1:-}" = "--test" ]; then
  pip install -q --disable-pip-version-check -r requirements/test.txt
  PIP_BUILD_ARGS+=(--config-settings=cmake.define.GTN_BUILD_TESTS=ON)
fi
echo "== building and installing gtn (pip install .)"
pip install -q --disable-pip-version-check --no-build-isolation "${PIP_BUILD_ARGS[@]}" .
