#!/usr/bin/env bash
# Real fuzzing: builds every tests/fuzz target with clang's libFuzzer and AddressSanitizer into
# build-fuzz/ and runs each for SECONDS (default 30), starting from the committed seed corpus.
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
scripts/setup.sh
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer"
CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHAT_FUZZ=ON \
  -DCHAT_BUILD_MICRO=OFF -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
targets=$(cd tests/fuzz && ls fuzz_*.cpp | sed 's/\.cpp$//')
cmake --build build-fuzz -j"${JOBS:-2}" --target $targets
for t in $targets; do
  case $t in *text*) seeds=tests/fuzz/corpus/text ;; *) seeds=tests/fuzz/corpus/frame ;; esac
  work=$(mktemp -d)
  cp "$seeds"/* "$work"/
  echo "== $t for ${seconds}s"
  build-fuzz/tests/"$t" -max_total_time="$seconds" -print_final_stats=1 "$work" 2>&1 | tail -3
  rm -rf "$work"
done
