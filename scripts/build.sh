#!/usr/bin/env bash
# Configures and builds into build/ (Release with debug info), two jobs: the machines have 2 cores.
# With target names (e.g. `scripts/build.sh chat`) only those are built; without, everything.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build build -j"${JOBS:-2}" "${targets[@]}"
