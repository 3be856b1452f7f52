#!/bin/sh
# Live capture benchmark (root): builds, then runs bench/live-capture.ts pinned to one CPU while
# tcpreplay runs on another, so "packets/s on one core" means the capturing process's core.
#   bash bench/live-capture.sh [--seconds N] [--rates 100000,300000] [--sender-cpu 0]
set -eu
cd "$(dirname "$0")/.."
[ -f native/build/Release/picket_pcap.node ] || npx node-gyp rebuild --directory native
npx tsc -p tsconfig.json >/dev/null 2>&1 || echo "note: tsc reported errors (other folders?); running what compiled" >&2
CPU=$(($(nproc) - 1))
exec taskset -c "$CPU" node dist/bench/live-capture.js "$@"
