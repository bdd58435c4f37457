#!/usr/bin/env bash
# Download bench/gpu_requirements.txt's wheels for the GPU machine (CPython 3.12, x86-64 Linux) into .whl/,
# which git ignores and the device run carries: pip there installs them with --no-index.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl -r bench/gpu_requirements.txt
ls .whl
