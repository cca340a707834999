#!/usr/bin/env bash
# Load benchmark of the reference gateway (loopback, bounded: DURATION seconds per run).
#
#   gateway-ref/bench/run.sh            # needs wrk and nginx: apt-get install wrk nginx-light
#
# Runs wrk (THREADS threads, CONNECTIONS connections, DURATION s, --latency) against:
#   1. the echo backend directly              (apig-gateway echo-server)
#   2. nginx proxy_pass to the echo backend   (Debian nginx, upstream keepalive; the baseline)
#   3. the gateway, auth none                 (routing + proxy only)
#   4. the gateway, app auth                  (every request's signature fully verified by the core)
# All on 127.0.0.1, with the same request (GET with a query and the signing headers), signed once
# just before the runs by examples/bench_sign.rs (the core's Signer); wrk replays it, the gateway's
# app-auth API verifies it on every request (no caching: canonicalisation + HMAC each time), and
# the date stays within the 15-minute skew window. Access logs are off for nginx and the gateway.
# Prints one markdown table row per run, with the CPU time (utime + stime from /proc) the server
# under test used per request: nginx's master and workers, the gateway's process, the echo
# backend for the direct run. That figure holds on a busy machine, where requests/s do not.
#
#   ROUNDS=3 gateway-ref/bench/run.sh   # repeat the four runs (interleaved) three times
set -euo pipefail

DURATION="${DURATION:-10}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d /tmp/apig-gw-bench.XXXXXX)"
ECHO_PORT=19000 NGINX_PORT=19001 GW_PORT=19002
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [[ -f "$WORK/nginx.pid" ]]; then kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[[ -x "$NGINX" ]] || { echo "nginx missing: apt-get install nginx-light" >&2; exit 1; }

(cd "$ROOT" && cargo build --release -q -p apig-gateway --bin apig-gateway --example bench_sign)
GW="$TARGET/release/apig-gateway"
SIGN="$TARGET/release/examples/bench_sign"

"$GW" echo-server --listen "127.0.0.1:$ECHO_PORT" 2>/dev/null & ECHO_PID=$!; PIDS+=($ECHO_PID)

cat > "$WORK/nginx.conf" <<NGINX
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
daemon off;
events { worker_connections 4096; }
http {
    access_log off;
    upstream echo { server 127.0.0.1:$ECHO_PORT; keepalive 128; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://echo;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
NGINX
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf" & NGINX_PID=$!; PIDS+=($NGINX_PID)

cat > "$WORK/gateway.json" <<JSON
{
  "groups": [{"id": "bench", "apis": [
    {"id": "open", "method": "GET", "path": "/open/echo", "auth": "none", "backend": {"url": "http://127.0.0.1:$ECHO_PORT"}},
    {"id": "signed", "method": "GET", "path": "/signed/echo", "auth": "app", "backend": {"url": "http://127.0.0.1:$ECHO_PORT"}}
  ]}],
  "environments": [{"name": "RELEASE", "published": ["open", "signed"]}],
  "apps": [{"id": "bench", "key": "bench-access-key", "secret": "bench-secret-key"}],
  "authorizations": [{"app": "bench", "api": "signed"}]
}
JSON
"$GW" --listen "127.0.0.1:$GW_PORT" --config "$WORK/gateway.json" --access-log off 2>/dev/null & GW_PID=$!; PIDS+=($GW_PID)

for port in $ECHO_PORT $NGINX_PORT $GW_PORT; do
    up=0
    for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && { up=1; break; }; sleep 0.1; done
    (( up )) || { echo "nothing listens on 127.0.0.1:$port" >&2; exit 1; }
done

# wrk script adding fixed headers from a file of "Name: value" lines
lua_for() {
    local headers_file="$1" out="$2"
    {
        echo 'wrk.method = "GET"'
        while IFS= read -r line; do
            name="${line%%: *}"; value="${line#*: }"
            printf 'wrk.headers["%s"] = "%s"\n' "$name" "$value"
        done < "$headers_file"
    } > "$out"
}

# CPU ticks (utime + stime) used so far by the given processes
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
HZ="$(getconf CLK_TCK)"

run() {
    local label="$1" url="$2" script="$3"; shift 3 # then: the server's pids
    local args=(-t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script")
    local before; before="$(cpu_ticks "$@")"
    local out; out="$(wrk "${args[@]}" "$url")"
    local after; after="$(cpu_ticks "$@")"
    local non2xx; non2xx="$(grep -Eo 'Non-2xx or 3xx responses: [0-9]+' <<<"$out" | grep -Eo '[0-9]+$' || echo 0)"
    local rps; rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    local n; n="$(awk '/requests in/ {print $1}' <<<"$out")"
    local p50; p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
    local p99; p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
    local cpu; cpu="$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$rps" "$p50" "$p99" "$cpu" "$non2xx" "$(cut -d' ' -f1 /proc/loadavg)"
    echo "$rps" >> "$WORK/rps-${label// /_}"
}

# every run sends the same request: a GET with a query and the signing headers (Host,
# X-Sdk-Date, Authorization), signed once by the core just before the runs; only the gateway's
# app-auth API checks them (in full, on every request)
"$SIGN" GET "http://127.0.0.1:$GW_PORT/signed/echo?hello=world" bench-access-key bench-secret-key > "$WORK/signed.headers"
lua_for "$WORK/signed.headers" "$WORK/signed.lua"
check="$(wrk -t1 -c1 -d1s -s "$WORK/signed.lua" "http://127.0.0.1:$GW_PORT/signed/echo?hello=world")"
if grep -q 'Non-2xx' <<<"$check"; then echo "signed requests are rejected by the gateway" >&2; exit 1; fi
NGINX_PIDS=("$NGINX_PID" $(pgrep -P "$NGINX_PID"))
echo "| run | requests/s | p50 | p99 | server CPU µs/request | non-2xx | load |"
echo "|---|---|---|---|---|---|---|"
for _ in $(seq "${ROUNDS:-1}"); do
    run "echo backend direct" "http://127.0.0.1:$ECHO_PORT/signed/echo?hello=world" "$WORK/signed.lua" "$ECHO_PID"
    run "nginx proxy_pass" "http://127.0.0.1:$NGINX_PORT/signed/echo?hello=world" "$WORK/signed.lua" "${NGINX_PIDS[@]}"
    run "gateway auth none" "http://127.0.0.1:$GW_PORT/open/echo?hello=world" "$WORK/signed.lua" "$GW_PID"
    run "gateway app auth" "http://127.0.0.1:$GW_PORT/signed/echo?hello=world" "$WORK/signed.lua" "$GW_PID"
done

# the ratio of the summed requests/s over the rounds
sum() { awk '{ s += $1 } END { print s }' "$1"; }
awk -v g="$(sum "$WORK/rps-gateway_app_auth")" -v n="$(sum "$WORK/rps-nginx_proxy_pass")" \
    'BEGIN { printf "\ngateway with app auth / nginx proxy_pass = %.2f (target >= 0.90, issue #15)\n", g / n }'
