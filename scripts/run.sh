#!/usr/bin/env bash
# The main job: set up, build, show a three-way chat over every wire (TCP, UDP, ENet) on loopback,
# then measure them (every scenario, with sockperf, iperf3 and ncat --chat beside us) and write the
# report to reports/latest/. The quick profile takes under three minutes once built (compiling `chat`
# takes longer on a fresh 2-core machine); pass --full for the reference profile.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=quick
[ "${1:-}" = "--full" ] && profile=full
scripts/setup.sh
scripts/build.sh chat  # the program only: the tests are built by scripts/test.sh
scripts/chat_demo.sh build/chat
build/chat bench all --profile "$profile" -o reports/latest
echo "report: reports/latest/report.md"
