#!/usr/bin/env bash
# Builds the benchmark capture from real traffic: nginx (HTTP, HTTPS), dnsmasq (DNS), sshd (SSH
# key exchange), nmap (a SYN scan), ping and a UDP stream, between two network namespaces joined
# by a veth pair, captured with tcpdump. Needs root, nginx, dnsmasq, openssh-server, nmap,
# tcpdump, openssl. Bounded: every client loop has a fixed count (scale 1 ≈ 1.2 M packets).
#
#   bash bench/make-bench-capture.sh OUT.pcap [scale]
set -euo pipefail
out=${1:?usage: make-bench-capture.sh OUT.pcap [scale]}
scale=${2:-1}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/picket-bench-XXXX)
srv=pk-bench-srv
cli=pk-bench-cli

cleanup() {
  set +e
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  [ -f "$work/dnsmasq.pid" ] && kill "$(cat "$work/dnsmasq.pid")" 2>/dev/null
  [ -f "$work/sshd.pid" ] && kill "$(cat "$work/sshd.pid")" 2>/dev/null
  [ -n "${dump:-}" ] && kill "$dump" 2>/dev/null
  [ -n "${sink:-}" ] && kill "$sink" 2>/dev/null
  ip netns del $srv 2>/dev/null
  ip netns del $cli 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cleanup 2>/dev/null || true
work=$(mktemp -d /tmp/picket-bench-XXXX)

ip netns add $srv
ip netns add $cli
ip link add pkb-s type veth peer name pkb-c
ip link set pkb-s netns $srv
ip link set pkb-c netns $cli
ip -n $srv addr add 10.20.0.1/24 dev pkb-s
ip -n $cli addr add 10.20.0.2/24 dev pkb-c
ip -n $srv link set pkb-s up
ip -n $cli link set pkb-c up
ip -n $srv link set lo up
# No segmentation offloads: the capture must hold wire-sized packets, not 64 KB super-packets.
ip netns exec $srv ethtool -K pkb-s tso off gso off gro off 2>/dev/null || true
ip netns exec $cli ethtool -K pkb-c tso off gso off gro off 2>/dev/null || true
ip -n $cli link set lo up

# Server content and configuration.
mkdir -p "$work/www" "$work/nginx"
head -c 1024 /dev/urandom | base64 > "$work/www/small.html"
echo '<html><body>picket bench</body></html>' > "$work/www/index.html"
head -c 100000 /dev/urandom > "$work/www/medium.bin"
head -c 5000000 /dev/urandom > "$work/www/large.bin"
# nginx workers run unprivileged: the content must be world-readable (mktemp makes 0700 dirs).
chmod -R a+rX "$work"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=bench.local" \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 10.20.0.1:80;
    listen 10.20.0.1:443 ssl;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    root $work/www;
  }
}
NGINX
ip netns exec $srv nginx -c "$work/nginx.conf" -p "$work/nginx"
cat > "$work/hosts" <<HOSTS
10.20.0.1 www.bench.local
$(for i in $(seq 0 49); do echo "10.20.1.$i host$i.bench.local"; done)
HOSTS
ip netns exec $srv dnsmasq --no-resolv --no-hosts --addn-hosts="$work/hosts" --listen-address=10.20.0.1 \
  --bind-interfaces --pid-file="$work/dnsmasq.pid" --cache-size=1000 --dns-forward-max=1000 \
  --local=/bench.local/ --log-facility=/dev/null
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$work/hostkey"
ip netns exec $srv /usr/sbin/sshd -o PidFile="$work/sshd.pid" -o ListenAddress=10.20.0.1 -h "$work/hostkey" -o UsePAM=no
ip netns exec $srv bash -c "exec nc -lu 10.20.0.1 5004 > /dev/null" & sink=$!

ip netns exec $cli tcpdump -q -i pkb-c -s 0 -B 262144 -w "$out" 2>"$work/tcpdump.log" & dump=$!
sleep 1

ip netns exec $cli ping -c 200 -i 0.01 10.20.0.1 > /dev/null
ip netns exec $cli nmap -sS -p 1-2000 -T4 -n 10.20.0.1 > /dev/null
for i in $(seq 1 $((20 * scale))); do
  ip netns exec $cli ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=3 bench@10.20.0.1 true 2>/dev/null || true
done
ip netns exec $cli node "$here/dist/bench/traffic-gen.js" 10.20.0.1 "$scale"

sleep 1
kill -INT $dump; wait $dump 2>/dev/null || true
dump=
grep -E "packets (captured|dropped)" "$work/tcpdump.log" >&2 || true
capinfos -c -s "$out" >&2 2>/dev/null || true
