#!/usr/bin/env bash
# Installs Picket as a systemd service: the `picket` system user, /etc/picket with a config made
# from config/picket.example.yaml (never overwritten), /var/lib/picket (alert queue, model,
# baselines) and picket.service. Run as root from a built checkout (npm ci; npm run build).
#
#   sudo bash systemd/install.sh [--prefix /opt/picket] [--interface eth0]... [--broker mqtt://HOST:PORT]
#                                [--site NAME] [--destdir DIR] [--no-start]
#
#   --prefix     where Picket is installed (default: this checkout); the unit runs
#                PREFIX/dist/agent/cli/main.js
#   --interface  capture interface(s) written into a new config
#   --broker     broker URL written into a new config (with queue_dir /var/lib/picket/queue)
#   --destdir    stage the files under DIR instead of / (packaging, tests): no user, no chown,
#                no systemctl
#   --no-start   install but do not enable/start the service
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
prefix=$here
destdir=""
start=1
interfaces=()
broker=""
site=""

die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --interface) interfaces+=("${2:?--interface needs a name}"); shift 2 ;;
    --broker) broker=${2:?--broker needs a URL}; shift 2 ;;
    --site) site=${2:?--site needs a name}; shift 2 ;;
    --destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
    --no-start) start=0; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

[ -n "$destdir" ] || [ "$(id -u)" -eq 0 ] || die "run as root (or use --destdir DIR to stage files)"
[ -f "$here/config/picket.example.yaml" ] || die "config/picket.example.yaml not found next to this script"
case "$prefix" in /*) ;; *) die "--prefix must be an absolute path" ;; esac
node=$(command -v node || true)
[ -n "$node" ] || die "node is not installed (Node.js 20 or later)"

etc="$destdir/etc/picket"
state="$destdir/var/lib/picket"
unitdir="$destdir/etc/systemd/system"

# 1. The user: a system account without a login shell or home directory of its own.
if [ -z "$destdir" ] && ! id picket >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /var/lib/picket --no-create-home --shell /usr/sbin/nologin \
    --comment "Picket network sensor" picket
  echo "install.sh: created system user picket"
fi

# 2. Directories (systemd also creates them from StateDirectory=/ConfigurationDirectory=).
install -d -m 0750 "$etc" "$state" "$state/queue"
install -d -m 0755 "$unitdir"
if [ -z "$destdir" ]; then
  chown root:picket "$etc"
  chown picket:picket "$state" "$state/queue"
fi

# 3. The config: from the example, with the sensor's state paths; an existing one is kept.
cfg="$etc/picket.yaml"
if [ -e "$cfg" ]; then
  echo "install.sh: keeping the existing $cfg"
else
  list=""
  for i in "${interfaces[@]}"; do list="${list:+$list, }$i"; done
  sed -e "s|^  interfaces: \[\]|  interfaces: [$list]|" \
      -e "s|^  queue_dir: \"\"|  queue_dir: /var/lib/picket/queue|" \
      -e "s|^  path: \"\"|  path: /var/lib/picket/model.pif|" \
      ${broker:+-e "s|^  url: \"\"|  url: $broker|"} \
      ${site:+-e "s|^  site: default|  site: $site|"} \
      "$here/config/picket.example.yaml" > "$cfg.tmp"
  chmod 0640 "$cfg.tmp"
  [ -z "$destdir" ] && chown root:picket "$cfg.tmp"
  mv "$cfg.tmp" "$cfg"
  echo "install.sh: wrote $cfg"
fi

# 4. The unit, pointing at this install.
sed -e "s|/opt/picket|$prefix|g" -e "s|/usr/bin/node|$node|g" "$here/systemd/picket.service" > "$unitdir/picket.service"
chmod 0644 "$unitdir/picket.service"
echo "install.sh: wrote $unitdir/picket.service"

# 5. Check the config with the installed code, when it is built.
main="$prefix/dist/agent/cli/main.js"
if [ -f "$main" ]; then
  if ! "$node" "$main" run --config "$cfg" --check; then
    echo "install.sh: fix $cfg (see the lines above), then: systemctl restart picket" >&2
    start=0
  fi
else
  echo "install.sh: $main not found: build first (npm ci && npm run build)" >&2
  start=0
fi

if [ -n "$destdir" ]; then
  echo "install.sh: staged under $destdir"
  exit 0
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ "$start" -eq 1 ]; then
    systemctl enable --now picket.service
    echo "install.sh: picket is running: journalctl -u picket -f"
  else
    echo "install.sh: installed; start with: systemctl enable --now picket"
  fi
else
  echo "install.sh: systemd is not running here; installed files only"
fi
