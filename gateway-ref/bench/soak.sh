#!/usr/bin/env bash
# Soak test: SOAK_SECONDS (default 300) of signed load (wrk, app auth, echo backend over a socket)
# against the gateway with its access log written to a file, sampling the gateway's resident
# memory (VmRSS) every SAMPLE seconds. Prints the samples and the first/last/max; the run fails if
# any request is rejected or the memory at the end is more than 1.5x the memory after warm-up.
#
#   gateway-ref/bench/soak.sh           # needs wrk: apt-get install wrk
set -euo pipefail

SOAK_SECONDS="${SOAK_SECONDS:-300}"
SAMPLE="${SAMPLE:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d /tmp/apig-gw-soak.XXXXXX)"
ECHO_PORT=19100 GW_PORT=19102
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }
(( SOAK_SECONDS <= 840 )) || { echo "SOAK_SECONDS must stay within the 15-minute signature window" >&2; exit 1; }

(cd "$ROOT" && cargo build --release -q -p apig-gateway --bin apig-gateway --example bench_sign)
GW="$TARGET/release/apig-gateway"
"$GW" echo-server --listen "127.0.0.1:$ECHO_PORT" 2>/dev/null & PIDS+=($!)
cat > "$WORK/gateway.json" <<JSON
{
  "groups": [{"id": "soak", "apis": [
    {"id": "signed", "method": "POST", "path": "/signed/echo", "auth": "app", "backend": {"url": "http://127.0.0.1:$ECHO_PORT"}}
  ]}],
  "environments": [{"name": "RELEASE", "published": ["signed"]}],
  "apps": [{"id": "soak", "key": "soak-access-key", "secret": "soak-secret-key"}],
  "authorizations": [{"app": "soak", "api": "signed"}]
}
JSON
"$GW" --listen "127.0.0.1:$GW_PORT" --config "$WORK/gateway.json" --access-log "$WORK/access.log" 2>/dev/null & GW_PID=$!
PIDS+=($GW_PID)
for port in $ECHO_PORT $GW_PORT; do
    up=0
    for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && { up=1; break; }; sleep 0.1; done
    (( up )) || { echo "nothing listens on 127.0.0.1:$port" >&2; exit 1; }
done

# one signed POST (empty body), replayed by wrk; the gateway verifies every request in full
"$TARGET/release/examples/bench_sign" POST "http://127.0.0.1:$GW_PORT/signed/echo?soak=1" soak-access-key soak-secret-key > "$WORK/h"
{
    echo 'wrk.method = "POST"'
    while IFS= read -r line; do printf 'wrk.headers["%s"] = "%s"\n' "${line%%: *}" "${line#*: }"; done < "$WORK/h"
} > "$WORK/soak.lua"

rss() { awk '/VmRSS/ {print $2}' "/proc/$GW_PID/status"; }
wrk -t2 -c"$CONNECTIONS" -d"${SOAK_SECONDS}s" -s "$WORK/soak.lua" "http://127.0.0.1:$GW_PORT/signed/echo?soak=1" > "$WORK/wrk.out" &
WRK=$!
samples=()
elapsed=0
while kill -0 "$WRK" 2>/dev/null; do
    sleep "$SAMPLE"; elapsed=$((elapsed + SAMPLE))
    kill -0 "$WRK" 2>/dev/null || break
    samples+=("$(rss)")
    echo "t=${elapsed}s rss=${samples[-1]} kB"
done
wait "$WRK"
cat "$WORK/wrk.out"
warm="${samples[1]:-${samples[0]}}"; last="${samples[-1]}"
max=0; for s in "${samples[@]}"; do (( s > max )) && max=$s; done
lines="$(wc -l < "$WORK/access.log")"
echo "rss after warm-up ${warm} kB, at the end ${last} kB, max ${max} kB; access-log lines ${lines}"
if grep -q 'Non-2xx' "$WORK/wrk.out"; then echo "FAIL: rejected requests" >&2; exit 1; fi
awk -v w="$warm" -v l="$last" 'BEGIN { exit !(l <= 1.5 * w) }' || { echo "FAIL: memory grew" >&2; exit 1; }
echo "soak passed"
