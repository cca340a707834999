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
# Prints one markdown table row per run.
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

(cd "$ROOT" && cargo build --release -q -p apig-gateway-ref --bin apig-gateway --example bench_sign)
GW="$TARGET/release/apig-gateway"
SIGN="$TARGET/release/examples/bench_sign"

"$GW" echo-server --listen "127.0.0.1:$ECHO_PORT" 2>/dev/null & PIDS+=($!)

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
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf" & PIDS+=($!)

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
"$GW" --listen "127.0.0.1:$GW_PORT" --config "$WORK/gateway.json" --access-log off 2>/dev/null & PIDS+=($!)

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

run() {
    local label="$1" url="$2" script="${3:-}"
    local args=(-t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency)
    [[ -n "$script" ]] && args+=(-s "$script")
    local out; out="$(wrk "${args[@]}" "$url")"
    local non2xx; non2xx="$(grep -Eo 'Non-2xx or 3xx responses: [0-9]+' <<<"$out" | grep -Eo '[0-9]+$' || echo 0)"
    local rps; rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    local p50; p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
    local p99; p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
    printf '| %s | %s | %s | %s | %s |\n' "$label" "$rps" "$p50" "$p99" "$non2xx"
    echo "$rps" > "$WORK/rps-${label// /_}"
}

# every run sends the same request: a GET with a query and the signing headers (Host,
# X-Sdk-Date, Authorization), signed once by the core just before the runs; only the gateway's
# app-auth API checks them (in full, on every request)
"$SIGN" GET "http://127.0.0.1:$GW_PORT/signed/echo?hello=world" bench-access-key bench-secret-key > "$WORK/signed.headers"
lua_for "$WORK/signed.headers" "$WORK/signed.lua"
check="$(wrk -t1 -c1 -d1s -s "$WORK/signed.lua" "http://127.0.0.1:$GW_PORT/signed/echo?hello=world")"
if grep -q 'Non-2xx' <<<"$check"; then echo "signed requests are rejected by the gateway" >&2; exit 1; fi
echo "| run | requests/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
run "echo backend direct" "http://127.0.0.1:$ECHO_PORT/signed/echo?hello=world" "$WORK/signed.lua"
run "nginx proxy_pass" "http://127.0.0.1:$NGINX_PORT/signed/echo?hello=world" "$WORK/signed.lua"
run "gateway auth none" "http://127.0.0.1:$GW_PORT/open/echo?hello=world" "$WORK/signed.lua"
run "gateway app auth" "http://127.0.0.1:$GW_PORT/signed/echo?hello=world" "$WORK/signed.lua"

nginx_rps="$(cat "$WORK/rps-nginx_proxy_pass")"
gw_rps="$(cat "$WORK/rps-gateway_app_auth")"
awk -v g="$gw_rps" -v n="$nginx_rps" 'BEGIN { printf "\ngateway with app auth / nginx proxy_pass = %.2f (target >= 0.80)\n", g / n }'
