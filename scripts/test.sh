#!/usr/bin/env bash
# Sets up (installs missing Debian packages), builds, and runs every test under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
cd build
ctest --output-on-failure -j"${JOBS:-2}" --timeout 180 "$@"
