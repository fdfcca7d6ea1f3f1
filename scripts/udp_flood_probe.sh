#!/usr/bin/env bash
# Measures the UDP hub against forged source addresses, through the flood test's own harness:
# inside a network namespace it makes (root needed), 5,000 addresses of 198.18.0.0/15 send to a
# hub while a real member pings it. Prints, per run: what the forged sources got back (the worst
# per-source amplification), the member's pings (answered, p50/p99) and whether it is still a
# member, and how long the hub took to exit on SIGTERM under the flood.
#
#   scripts/udp_flood_probe.sh                      # text only, framed JOINs only, then the mix
#   RATES="20000 200000" SECONDS_EACH=5 scripts/udp_flood_probe.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/tests/test_udp_flood
[[ -x $bin ]] || scripts/build.sh >/dev/null
for rate in ${RATES:-20000 100000}; do
  for kinds in ${KINDS:-th j thjd}; do
    echo "== rate ${rate}/s, datagrams '${kinds}' (t: 1 byte, h: hello line, j: JOIN, d: forged DATA)"
    CHAT_FLOOD_RATE=$rate CHAT_FLOOD_SECONDS=${SECONDS_EACH:-3} CHAT_FLOOD_KINDS=$kinds \
      "$bin" --gtest_filter='UdpFlood.ARealMember*' |
      grep -E '^(flood|member|SIGTERM)|SKIPPED|FAILED|Failure' || true
  done
done
