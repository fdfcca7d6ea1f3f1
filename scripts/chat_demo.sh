#!/usr/bin/env bash
# A scripted three-way chat (alice, bob, carol) in a hub on loopback, over each wire in turn, printing
# what each client saw. Usage: scripts/chat_demo.sh [path/to/chat] [wire ...]
# Without wires it runs every one the binary offers (the choices `chat server --help` lists).
set -euo pipefail
chat=${1:-"$(dirname "$0")/../build/chat"}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

shift || true
wires=("$@")
if ((${#wires[@]} == 0)); then
  read -r -a wires <<<"$("$chat" server --help | sed -n 's/.*--transport TEXT:{\([^}]*\)}.*/\1/p' | tr , ' ')"
fi

for transport in "${wires[@]}"; do
  "$chat" server --mode hub --transport "$transport" --port 0 --bind 127.0.0.1 -q 2>"$work/server.err" &
  server=$!
  pids+=("$server")
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on [a-z]* .*:\([0-9]*\)$/\1/p' "$work/server.err" | head -1)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "hub did not start" >&2; exit 1; }

  # Each client joins, waits for the others, says one line, and lingers to hear the rest.
  i=0
  for who in alice bob carol; do
    { sleep $((1 + i)); echo "hello from $who over $transport"; sleep $((3 - i)); } |
      "$chat" client --transport "$transport" --port "$port" --name "$who" --linger 1500 -q \
        >"$work/$who.out" 2>"$work/$who.err" &
    pids+=("$!")
    i=$((i + 1))
    sleep 0.3
  done
  wait "${pids[@]:1}" 2>/dev/null || true
  echo "== three-way chat over $transport (hub on 127.0.0.1:$port)"
  for who in alice bob carol; do
    echo "-- $who saw:"
    sed 's/^/   /' "$work/$who.out"
  done
  kill -TERM "$server"
  wait "$server" || true
  pids=()
done
