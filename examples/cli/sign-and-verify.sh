#!/usr/bin/env bash
# Signs a request with `apig sign`, saves it as a raw HTTP file, verifies it with `apig verify`,
# then tampers with it and lets `apig verify` and `apig explain` show what changed.
# Usage: examples/cli/sign-and-verify.sh   (APIG=/path/to/apig to use a given binary)
set -euo pipefail
apig=${APIG:-apig}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export APIG_ACCESS_KEY=demo-access-key APIG_SECRET_KEY=demo-secret-key
url='http://127.0.0.1:8080/demo/echo?hello=world'
body='{"greeting":"hi"}'
date=20240403T101500Z

# 1. the headers to add
"$apig" sign POST "$url" -H 'Content-Type: application/json' -d "$body" --date "$date" > "$work/added"
cat "$work/added"

# 2. the request as the server receives it
{
  printf 'POST /demo/echo?hello=world HTTP/1.1\r\n'
  printf 'Content-Type: application/json\r\n'
  sed 's/$/\r/' "$work/added"
  printf 'Content-Length: %s\r\n\r\n%s' "${#body}" "$body"
} > "$work/request.http"

# 3. verified with the demo key (keys.json), at the signing time
"$apig" verify "$work/request.http" --keys "$here/keys.json" --now "$date"

# 4. a proxy changed the query: rejected (exit 1), with the verifier's canonical request
sed 's/hello=world/hello=mars/' "$work/request.http" > "$work/tampered.http"
if "$apig" verify "$work/tampered.http" --keys "$here/keys.json" --now "$date" 2> "$work/verify.err"; then
  echo "the tampered request was accepted" >&2
  exit 1
fi
grep '^error\[' "$work/verify.err"

# 5. the gateway-style message pinpointed by explain (no credentials needed)
grep 'canonicalRequest:' "$work/verify.err" > "$work/message"
env -u APIG_ACCESS_KEY -u APIG_SECRET_KEY \
  "$apig" explain "$work/message" POST "$url" -H 'Content-Type: application/json' -d "$body"
