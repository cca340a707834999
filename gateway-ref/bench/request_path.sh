#!/usr/bin/env bash
# Instructions per request of the gateway's app-auth path, for a signed GET and a signed 1 KiB
# POST: the gateway (release build, 1 worker) runs under valgrind's callgrind; a Python client
# sends COUNT requests of each kind on one keep-alive connection, between a zeroing and a dump of
# the counters (callgrind_control), after WARMUP requests. Instruction counts do not move with
# the machine's load, so they compare builds (docs/BENCHMARKS.md, "#19 request path before the
# body"). Valgrind has no SHA-NI: SHA-256 runs in software and weighs more than on the hardware.
#
#   gateway-ref/bench/request_path.sh [GATEWAY_BINARY]   # default: target/release/apig-gateway
#   GW_ARGS="--status-listen 127.0.0.1:19303" gateway-ref/bench/request_path.sh   # metrics on
#
# needs valgrind and python3; builds the gateway when no binary is given.
set -euo pipefail

COUNT="${COUNT:-2000}"
WARMUP="${WARMUP:-200}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d /tmp/apig-gw-bench-path.XXXXXX)"
ECHO_PORT="${ECHO_PORT:-19300}" GW_PORT="${GW_PORT:-19302}"
# more gateway arguments (e.g. the status listener, to count the metrics' cost), split on spaces
read -r -a GW_ARGS <<< "${GW_ARGS:-}"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

for tool in valgrind callgrind_control python3; do
    command -v "$tool" >/dev/null || { echo "$tool missing (apt-get install valgrind python3)" >&2; exit 1; }
done
if [[ $# -ge 1 ]]; then
    GW="$1"
else
    (cd "$ROOT" && cargo build --release -q -p apig-gateway --bin apig-gateway)
    GW="$TARGET/release/apig-gateway"
fi

"$GW" echo-server --listen "127.0.0.1:$ECHO_PORT" 2>/dev/null & PIDS+=($!)
cat > "$WORK/gateway.json" <<JSON
{
  "groups": [{"id": "bench", "apis": [
    {"id": "get", "method": "GET", "path": "/get/echo", "auth": "app", "backend": {"url": "http://127.0.0.1:$ECHO_PORT"}},
    {"id": "post", "method": "POST", "path": "/post/echo", "auth": "app", "backend": {"url": "http://127.0.0.1:$ECHO_PORT"}}
  ]}],
  "environments": [{"name": "RELEASE", "published": ["get", "post"]}],
  "apps": [{"id": "bench", "key": "bench-access-key", "secret": "bench-secret-key"}],
  "authorizations": [{"app": "bench", "api": "get"}, {"app": "bench", "api": "post"}]
}
JSON
valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.%p" "$GW" --workers 1 \
    --listen "127.0.0.1:$GW_PORT" --config "$WORK/gateway.json" --access-log off --watch-interval-ms 0 \
    ${GW_ARGS[@]+"${GW_ARGS[@]}"} 2> "$WORK/gw.err" &
GW_PID=$!
PIDS+=($GW_PID)
for _ in $(seq 300); do (echo > "/dev/tcp/127.0.0.1/$GW_PORT") 2>/dev/null && break; sleep 0.1; done

# sends N signed requests of one kind (SDK-HMAC-SHA256, signed once: the date stays in the skew
# window) on one connection; fails on any status but 200
cat > "$WORK/client.py" <<'PY'
import hashlib, hmac, http.client, sys, time
kind, n, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
method, path, body = ("GET", "/get/echo", b"") if kind == "get" else ("POST", "/post/echo", b"x" * 1024)
host = f"127.0.0.1:{port}"
date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
canonical = "\n".join([method, path + "/", "hello=world", f"host:{host}", f"x-sdk-date:{date}", "",
                       "host;x-sdk-date", hashlib.sha256(body).hexdigest()])
to_sign = f"SDK-HMAC-SHA256\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
signature = hmac.new(b"bench-secret-key", to_sign.encode(), hashlib.sha256).hexdigest()
headers = {"Host": host, "X-Sdk-Date": date, "Authorization":
           f"SDK-HMAC-SHA256 Access=bench-access-key, SignedHeaders=host;x-sdk-date, Signature={signature}"}
if body:
    headers["Content-Type"] = "application/octet-stream"
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for _ in range(n):
    conn.request(method, path + "?hello=world", body=body or None, headers=headers)
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        sys.exit(f"{kind}: status {response.status}")
PY

echo "| request | requests | instructions/request |"
echo "|---|---|---|"
for kind in get post; do
    python3 "$WORK/client.py" "$kind" "$WARMUP" "$GW_PORT"
    callgrind_control -z "$GW_PID" >/dev/null 2>&1
    python3 "$WORK/client.py" "$kind" "$COUNT" "$GW_PORT"
    callgrind_control -d "$kind" "$GW_PID" >/dev/null 2>&1
    file=""
    for _ in $(seq 100); do
        file="$(grep -l "^desc: Trigger: dump $kind\$" "$WORK"/callgrind.* 2>/dev/null | head -1 || true)"
        [[ -n "$file" ]] && break
        sleep 0.1
    done
    [[ -n "$file" ]] || { echo "no callgrind dump for $kind" >&2; exit 1; }
    if [[ -n "${CALLGRIND_OUT:-}" ]]; then mkdir -p "$CALLGRIND_OUT"; cp "$file" "$CALLGRIND_OUT/$kind.callgrind"; fi
    ir="$(awk '/^summary:/ {print $2}' "$file")"
    awk -v k="$kind" -v i="$ir" -v n="$COUNT" 'BEGIN { printf "| %s | %d | %.0f |\n", k, n, i / n }'
done
