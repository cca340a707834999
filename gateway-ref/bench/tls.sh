#!/usr/bin/env bash
# Load benchmark of the gateway's TLS front end against nginx terminating TLS the same way
# (loopback, bounded: DURATION seconds per run).
#
#   gateway-ref/bench/tls.sh      # needs wrk, nginx, h2load, openssl:
#                                 # apt-get install wrk nginx-light nghttp2-client openssl
#
# One self-signed certificate (ECDSA P-256, made by openssl for this run) serves both:
#   1. nginx TLS proxy_pass to the echo backend   (listen ssl http2; upstream keepalive)
#   2. the gateway's TLS listener, app auth        (every request's signature verified by the core)
# each driven by wrk over HTTPS/1.1 (THREADS threads, CONNECTIONS connections) and by h2load over
# h2 (H2_CLIENTS connections, H2_STREAMS streams each), same request: a GET with a query and the
# signing headers, signed by examples/bench_sign.rs for the gateway's TLS address. Keep-alive
# connections: the handshakes are a negligible share; this measures TLS record processing and
# HTTP/2 framing around the request path. Access logs off. Prints one markdown row per run, with
# the server's CPU time per request (utime + stime from /proc), which holds on a busy machine.
#
#   ROUNDS=3 gateway-ref/bench/tls.sh
set -euo pipefail

DURATION="${DURATION:-10}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
H2_CLIENTS="${H2_CLIENTS:-16}"
H2_STREAMS="${H2_STREAMS:-8}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d /tmp/apig-gw-bench-tls.XXXXXX)"
ECHO_PORT=19100 NGINX_PORT=19101 GW_PORT=19102 GW_TLS_PORT=19103
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [[ -f "$WORK/nginx.pid" ]]; then kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

for tool in wrk h2load openssl; do
    command -v "$tool" >/dev/null || { echo "$tool missing: apt-get install wrk nghttp2-client openssl" >&2; exit 1; }
done
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[[ -x "$NGINX" ]] || { echo "nginx missing: apt-get install nginx-light" >&2; exit 1; }

(cd "$ROOT" && cargo build --release -q -p apig-gateway --bin apig-gateway --example bench_sign)
GW="$TARGET/release/apig-gateway"
SIGN="$TARGET/release/examples/bench_sign"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

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
        listen 127.0.0.1:$NGINX_PORT ssl http2;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        http2_max_concurrent_streams 128;
        keepalive_requests 1000000;
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

# the certificate is the gateway's default one: wrk and h2load connect to 127.0.0.1 (no SNI)
cat > "$WORK/gateway.json" <<JSON
{
  "gateway": {"tls": {"default_certificate": {"cert": "cert.pem", "key": "key.pem"}}},
  "groups": [{"id": "bench", "apis": [
    {"id": "signed", "method": "GET", "path": "/signed/echo", "auth": "app", "backend": {"url": "http://127.0.0.1:$ECHO_PORT"}}
  ]}],
  "environments": [{"name": "RELEASE", "published": ["signed"]}],
  "apps": [{"id": "bench", "key": "bench-access-key", "secret": "bench-secret-key"}],
  "authorizations": [{"app": "bench", "api": "signed"}]
}
JSON
"$GW" --listen "127.0.0.1:$GW_PORT" --listen-tls "127.0.0.1:$GW_TLS_PORT" --config "$WORK/gateway.json" \
    --access-log off 2>/dev/null & GW_PID=$!; PIDS+=($GW_PID)

for port in $ECHO_PORT $NGINX_PORT $GW_TLS_PORT; do
    up=0
    for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && { up=1; break; }; sleep 0.1; done
    (( up )) || { echo "nothing listens on 127.0.0.1:$port" >&2; exit 1; }
done

# signed for the gateway's TLS address (the host signed is the one sent: Host / :authority)
URL_PATH="/signed/echo?hello=world"
"$SIGN" GET "https://127.0.0.1:$GW_TLS_PORT$URL_PATH" bench-access-key bench-secret-key > "$WORK/signed.headers"
{
    echo 'wrk.method = "GET"'
    while IFS= read -r line; do
        printf 'wrk.headers["%s"] = "%s"\n' "${line%%: *}" "${line#*: }"
    done < "$WORK/signed.headers"
    # the Host signed, also where it goes to nginx
    printf 'wrk.headers["Host"] = "127.0.0.1:%s"\n' "$GW_TLS_PORT"
} > "$WORK/signed.lua"
H2_HEADERS=()
# h2load sends the URL's authority as :authority; a Host beside it differing from it (nginx's
# port) is a malformed HTTP/2 request nginx answers 400
while IFS= read -r line; do [[ "$line" == Host:* ]] || H2_HEADERS+=(-H "$line"); done < "$WORK/signed.headers"

cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
HZ="$(getconf CLK_TCK)"

key() { echo "${1//[^a-zA-Z0-9]/_}"; }
row() { # label rps n non2xx before after
    local cpu; cpu="$(awk -v t=$(($6 - $5)) -v hz="$HZ" -v n="$3" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$cpu" "$4" "$(cut -d' ' -f1 /proc/loadavg)"
    echo "$2" >> "$WORK/rps-$(key "$1")"
}

wrk_run() { # label url pids…
    local label="$1" url="$2"; shift 2
    local before; before="$(cpu_ticks "$@")"
    local out; out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/signed.lua" "$url")"
    local after; after="$(cpu_ticks "$@")"
    local non2xx; non2xx="$(grep -Eo 'Non-2xx or 3xx responses: [0-9]+' <<<"$out" | grep -Eo '[0-9]+$' || echo 0)"
    row "$label" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '/requests in/ {print $1}' <<<"$out")" \
        "$non2xx" "$before" "$after"
}

h2_run() { # label url pids…
    local label="$1" url="$2"; shift 2
    local before; before="$(cpu_ticks "$@")"
    local out; out="$(h2load -D "$DURATION" -c "$H2_CLIENTS" -m "$H2_STREAMS" -t "$THREADS" "${H2_HEADERS[@]}" "$url")"
    local after; after="$(cpu_ticks "$@")"
    local rps; rps="$(awk '/^finished in/ {gsub(",", "", $4); print $4}' <<<"$out")"
    local n; n="$(awk '/^status codes:/ {print $3 + $5 + $7 + $9}' <<<"$out")"
    local ok; ok="$(awk '/^status codes:/ {print $3}' <<<"$out")"
    row "$label" "$rps" "$n" "$((n - ok))" "$before" "$after"
}

# the gateway answers the signed request 200 over both protocols (else the numbers mean nothing)
check="$(wrk -t1 -c1 -d1s -s "$WORK/signed.lua" "https://127.0.0.1:$GW_TLS_PORT$URL_PATH")"
if grep -q 'Non-2xx' <<<"$check"; then echo "signed requests are rejected over HTTPS/1.1" >&2; exit 1; fi
check="$(h2load -n 10 -c 1 "${H2_HEADERS[@]}" "https://127.0.0.1:$GW_TLS_PORT$URL_PATH")"
grep -q '10 2xx' <<<"$check" || { echo "signed requests are rejected over h2: $check" >&2; exit 1; }

NGINX_PIDS=("$NGINX_PID" $(pgrep -P "$NGINX_PID"))
echo "| run | requests/s | server CPU µs/request | non-2xx | load |"
echo "|---|---|---|---|---|"
for _ in $(seq "${ROUNDS:-1}"); do
    wrk_run "nginx TLS proxy_pass, https/1.1" "https://127.0.0.1:$NGINX_PORT$URL_PATH" "${NGINX_PIDS[@]}"
    wrk_run "gateway TLS app auth, https/1.1" "https://127.0.0.1:$GW_TLS_PORT$URL_PATH" "$GW_PID"
    h2_run "nginx TLS proxy_pass, h2" "https://127.0.0.1:$NGINX_PORT$URL_PATH" "${NGINX_PIDS[@]}"
    h2_run "gateway TLS app auth, h2" "https://127.0.0.1:$GW_TLS_PORT$URL_PATH" "$GW_PID"
done

sum() { awk '{ s += $1 } END { print s }' "$1"; }
ratio() { awk -v g="$(sum "$WORK/rps-$(key "$1")")" -v n="$(sum "$WORK/rps-$(key "$2")")" 'BEGIN { printf "%.2f", g / n }'; }
echo
echo "gateway TLS app auth / nginx TLS proxy_pass:" \
    "https/1.1 $(ratio "gateway TLS app auth, https/1.1" "nginx TLS proxy_pass, https/1.1")," \
    "h2 $(ratio "gateway TLS app auth, h2" "nginx TLS proxy_pass, h2") (target >= 0.80)"
