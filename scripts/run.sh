#!/usr/bin/env bash
# The main job: set up, build, show a three-way chat over TCP and UDP on loopback, then measure TCP
# against UDP (quick profile, with iperf3/sockperf/ncat beside us) and write reports/latest/.
# Pass --full for the full profile.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/chat_demo.sh build/chat
