#!/bin/sh
# Builds test/captures/quic-migration.pcap: a real QUIC v1 connection (Chrome → Cloudflare, from the
# JA4 corpus) whose client moves to a new address and port after the handshake, as in a connection
# migration (RFC 9000 §9) or NAT rebinding. The first 17 packets of the flow are kept as captured;
# packets 18–30 (starting with a client packet, as a real migration does) get the client address
# 2001:db8:1::1 → 2001:db8:1::99 and port 50280 → 50999 (UDP checksums recomputed). The server's connection ID (20 bytes, learned from its long headers)
# keeps appearing as the DCID of the client's short headers on the new 5-tuple.
# Needs tshark, editcap, mergecap (Debian tshark/wireshark-common) and tcprewrite (tcpreplay).
# Usage (from the repository root): sh test/captures/make-quic-migration.sh
set -eu
SRC=${1:-../shared/corpora/ja4/pcap/chrome-cloudflare-quic-with-secrets.pcapng}
OUT=${2:-test/captures/quic-migration.pcap}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The source pcapng carries a TLS secrets block, which tshark will not write as pcap: filter to
# pcapng first, then convert.
tshark -r "$SRC" -Y 'udp.port == 50280' -w "$tmp/flow.pcapng" 2>/dev/null
editcap -F pcap "$tmp/flow.pcapng" "$tmp/flow.pcap"
editcap -r "$tmp/flow.pcap" "$tmp/before.pcap" 1-17
editcap -r "$tmp/flow.pcap" "$tmp/after.pcap" 18-30
tcprewrite --portmap=50280:50999 --pnat='[2001:db8:1::1/128]:[2001:db8:1::99/128]' --fixcsum \
  -i "$tmp/after.pcap" -o "$tmp/after-moved.pcap"
mergecap -F pcap -w "$OUT" "$tmp/before.pcap" "$tmp/after-moved.pcap"
