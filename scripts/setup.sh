#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the benchmarks need, only those missing.
# Safe to run again: it does nothing when everything is already there.
set -euo pipefail

# Build and test dependencies; the anchors (iperf3, sockperf, ncat) and the plotting stack are needed
# by `chat bench compare` and `chat report`, the plain-text tools by the interop tests, and ping,
# iperf3 and nc check the emulated link (tests/integration/test_link.cpp).
packages=(
  build-essential cmake pkg-config
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev libreadline-dev libenet-dev liburing-dev
  python3 python3-matplotlib
  iperf3 sockperf ncat socat netcat-openbsd iproute2 iputils-ping
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
