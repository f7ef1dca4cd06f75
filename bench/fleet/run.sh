#!/usr/bin/env bash
# The fleet benchmark (BENCHMARKS.md, "Fleet"): in one run, on loopback
# targets of a private CA served by one process,
#
#   1. httptrust exporter beside Debian's prometheus-blackbox-exporter at the
#      same concurrency, fresh handshake per probe on both sides, in
#      interleaved rounds: probe rate, CPU seconds per 1,000 probes (each
#      exporter's own, from /proc) and peak RSS; for the https module
#      (blackbox's http_2xx) and the tls module (blackbox's tcp with tls);
#   2. httptrust scan of 10,000 endpoints beside the floor (a bare Go loop
#      doing the same handshakes) at the same concurrency, in turns.
#
# Usage: bench/fleet/run.sh   (env: C="64" (a list: C="16 64") ROUNDS=6 DUR=5s SCAN_ROUNDS=3 TARGETS=1000 SCAN_TARGETS=10000)
# Needs prometheus-blackbox-exporter (apt-get install prometheus-blackbox-exporter).
set -euo pipefail
cd "$(dirname "$0")/../.."
C=${C:-64}
ROUNDS=${ROUNDS:-6}
DUR=${DUR:-5s}
SCAN_ROUNDS=${SCAN_ROUNDS:-3}
TARGETS=${TARGETS:-1000}
SCAN_TARGETS=${SCAN_TARGETS:-10000}
FIRST=20000
BLACKBOX=${BLACKBOX:-prometheus-blackbox-exporter}
command -v "$BLACKBOX" >/dev/null || { echo "run.sh: $BLACKBOX is not installed (apt-get install prometheus-blackbox-exporter)" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

go build -o "$tmp/httptrust" ./cmd/httptrust
go build -o "$tmp/harness" ./bench/fleet/harness
"$tmp/harness" serve -dir "$tmp" -first $FIRST -n "$SCAN_TARGETS" &
pids+=($!)
for _ in $(seq 100); do [ -e "$tmp/ready" ] && break; sleep 0.1; done
[ -e "$tmp/ready" ] || { echo "run.sh: the targets did not start" >&2; exit 1; }

for i in $(seq 0 $((TARGETS - 1))); do echo "https://127.0.0.1:$((FIRST + i))/"; done >"$tmp/https.txt"
for i in $(seq 0 $((TARGETS - 1))); do echo "127.0.0.1:$((FIRST + i))"; done >"$tmp/tls.txt"
for i in $(seq 0 $((SCAN_TARGETS - 1))); do echo "127.0.0.1:$((FIRST + i))"; done >"$tmp/scan.txt"

# The same trust on both sides: the private root, for these targets.
mkdir -m 700 "$tmp/store"
cp "$tmp/root.pem" "$tmp/store/root.pem"
printf '[[rule]]\nhosts = ["127.0.0.1"]\nanchors = ["root.pem"]\n' >"$tmp/store/fleet.toml"
cat >"$tmp/blackbox.yml" <<EOF
modules:
  http_2xx:
    prober: http
    timeout: 10s
    http:
      preferred_ip_protocol: ip4
      tls_config:
        ca_file: $tmp/root.pem
  tcp_tls:
    prober: tcp
    timeout: 10s
    tcp:
      preferred_ip_protocol: ip4
      tls: true
      tls_config:
        ca_file: $tmp/root.pem
EOF

"$BLACKBOX" --config.file="$tmp/blackbox.yml" --web.listen-address=127.0.0.1:19115 --log.level=error >"$tmp/blackbox.log" 2>&1 &
bbpid=$!
pids+=($bbpid)
"$tmp/httptrust" exporter --store "$tmp/store" --listen 127.0.0.1:19220 >"$tmp/httptrust.log" 2>&1 &
htpid=$!
pids+=($htpid)
for _ in $(seq 100); do
  curl -fs http://127.0.0.1:19115/-/healthy >/dev/null 2>&1 && curl -fs http://127.0.0.1:19220/-/healthy >/dev/null 2>&1 && break
  sleep 0.1
done

echo "== $(go version | cut -d' ' -f3), $("$BLACKBOX" --version 2>&1 | head -1), $(nproc) cores, commit $(git rev-parse --short HEAD)"
# The floor is a bare Go loop in the harness itself (no /probe request,
# nothing reported; X25519 and P-256 offered, as both exporters do), for scale;
# its CPU is the harness's own.
for c in $C; do
  echo "== exporters, module https / http_2xx: $TARGETS targets, concurrency $c, $ROUNDS rounds of $DUR each"
  "$tmp/harness" exporters -targets "$tmp/https.txt" -c "$c" -d "$DUR" -rounds "$ROUNDS" \
    blackbox=http://127.0.0.1:19115/probe,$bbpid,http_2xx httptrust=http://127.0.0.1:19220/probe,$htpid,https \
    floor=floor,https,"$tmp/root.pem"
  echo "== exporters, module tls / tcp_tls: $TARGETS targets, concurrency $c, $ROUNDS rounds of $DUR each"
  "$tmp/harness" exporters -targets "$tmp/tls.txt" -c "$c" -d "$DUR" -rounds "$ROUNDS" \
    blackbox=http://127.0.0.1:19115/probe,$bbpid,tcp_tls httptrust=http://127.0.0.1:19220/probe,$htpid,tls \
    floor=floor,tls,"$tmp/root.pem"
done
echo "== peak RSS over both modules (MiB): blackbox $(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$bbpid/status), httptrust $(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$htpid/status)"

# The exporters stop: the scan and the floor have the machine to themselves.
kill "$bbpid" "$htpid"
for c in $C; do
  echo "== scan of $SCAN_TARGETS endpoints vs the floor (Go's default key exchanges, and X25519/P-256 as probes offer), concurrency $c, $SCAN_ROUNDS runs each"
  "$tmp/harness" scan -targets "$tmp/scan.txt" -c "$c" -rounds "$SCAN_ROUNDS" -ca "$tmp/root.pem" -- \
    "$tmp/httptrust" --store "$tmp/store" scan
done
