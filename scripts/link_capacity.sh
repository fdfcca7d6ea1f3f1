#!/usr/bin/env bash
# Measures the emulated link against a direct veth pair between two namespaces, with tools this
# project did not write: iperf3 TCP through each (capacity at MTU 1500), and the forwarder's own
# lateness against schedule under a delayed UDP stream and a delayed TCP transfer (precision).
# Needs root. Usage: scripts/link_capacity.sh [path/to/chat] [SECONDS]
set -euo pipefail
chat=${1:-"$(dirname "$0")/../build/chat"}
secs=${2:-5}
tag=cap$$
c=chat-$tag-c
s=chat-$tag-s
cleanup() {
  ip netns del "$c" 2>/dev/null || true
  ip netns del "$s" 2>/dev/null || true
  "$chat" link down --name "$tag" >/dev/null 2>&1 || true
}
trap cleanup EXIT

iperf_tcp() { # SIDE-RUNNER-CLIENT SIDE-RUNNER-SERVER ADDRESS
  $2 iperf3 -s -1 -B "$3" >/dev/null 2>&1 &
  for _ in $(seq 100); do $2 ss -Hltn 'sport = :5201' | grep -q 5201 && break; sleep 0.05; done
  $1 iperf3 -c "$3" -t "$secs" -J | python3 -c \
    'import json,sys; e=json.load(sys.stdin)["end"]; print("%.2f Gbit/s, %d retransmits" % (e["sum_received"]["bits_per_second"]/1e9, e["sum_sent"]["retransmits"]))'
  wait
}

# A direct veth pair at MTU 1500: what the kernel alone does between two namespaces.
ip netns add "$c"
ip netns add "$s"
ip link add "v$tag" netns "$c" type veth peer name "w$tag" netns "$s"
ip -n "$c" addr add 198.18.0.1/30 dev "v$tag"
ip -n "$s" addr add 198.18.0.2/30 dev "w$tag"
ip -n "$c" link set "v$tag" up mtu 1500
ip -n "$s" link set "w$tag" up mtu 1500
ip -n "$c" link set lo up
ip -n "$s" link set lo up
echo "veth, MTU 1500:               $(iperf_tcp "ip netns exec $c" "ip netns exec $s" 198.18.0.2)"
cleanup

"$chat" link up --name "$tag" >/dev/null
run_c="$chat link exec --name $tag client --"
run_s="$chat link exec --name $tag server --"
echo "chat link, no impairment:     $(iperf_tcp "$run_c" "$run_s" 198.18.0.2)"
"$chat" link set --name "$tag" --impair 'loss=0.01%' >/dev/null
echo "chat link, loss=0.01% (every packet through the model): $(iperf_tcp "$run_c" "$run_s" 198.18.0.2)"

lateness() {
  "$chat" link status --name "$tag" --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
for d in ("up", "down"):
    l = j[d]["lateness_us"]
    print("  %-4s %7d packets: p50 %.0f µs, p99 %.0f µs, p99.9 %.0f µs, max %.0f µs" % (
        d, l["count"], l["p50"], l["p99"], l["p999"], l["max"]))'
}
for rate in 10M 200M 500M; do
  "$chat" link down --name "$tag" >/dev/null
  "$chat" link up --name "$tag" --impair 'delay=10ms' >/dev/null
  $run_s iperf3 -s -1 -B 198.18.0.2 >/dev/null 2>&1 &
  for _ in $(seq 100); do $run_s ss -Hltn 'sport = :5201' | grep -q 5201 && break; sleep 0.05; done
  $run_c iperf3 -c 198.18.0.2 -u -b "$rate" -l 1400 -t "$secs" >/dev/null
  wait
  echo "lateness against schedule, delay=10ms, $rate UDP (1,400 B) for ${secs} s:"
  lateness
done
"$chat" link down --name "$tag" >/dev/null
"$chat" link up --name "$tag" --impair 'delay=10ms,loss=0.01%' >/dev/null
echo "chat link, delay=10ms,loss=0.01%, TCP: $(iperf_tcp "$run_c" "$run_s" 198.18.0.2)"
echo "lateness against schedule, that TCP transfer (the forwarder saturated):"
lateness
