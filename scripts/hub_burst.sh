#!/usr/bin/env bash
# The TCP hub under an unpaced burst: READERS members that read as fast as they can, SENDERS
# members that each push BYTES of 2,330-byte lines at once (and read what the others send).
# Prints the deliveries that arrived and how many healthy readers the hub cut; repeats RUNS times.
# A fifth argument runs another build's `chat` (for a before/after comparison).
#
#   scripts/hub_burst.sh [READERS=10] [SENDERS=10] [BYTES=2097152] [RUNS=1] [CHAT_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
readers=${1:-10}
senders=${2:-10}
bytes=${3:-2097152}
runs=${4:-1}
binary=${5:-}
test_bin=build/tests/test_hub_backpressure
[[ -x $test_bin ]] || cmake --build build -j2 --target test_hub_backpressure chat >/dev/null
CHAT_BURST_READERS=$readers CHAT_BURST_SENDERS=$senders CHAT_BURST_BYTES=$bytes \
  CHAT_HUB_BINARY=$binary "$test_bin" --gtest_filter='*UnpacedBurst*' --gtest_repeat="$runs" |
  grep -E '^burst:|FAILED|PASSED' || true
