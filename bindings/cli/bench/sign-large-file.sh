#!/usr/bin/env bash
# Measures `apig sign -d @FILE` / `-d @-` on a large body: wall time and peak memory (GNU time),
# against an empty body, to show the body is hashed streaming in constant memory.
# Usage: bindings/cli/bench/sign-large-file.sh [SIZE_MIB]   (default 256; builds the release binary)
set -euo pipefail
size=${1:-256}
root=$(cd "$(dirname "$0")/../../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
cargo build -q --release -p apig-cli --manifest-path "$root/Cargo.toml"
apig=$target/release/apig
file=$(mktemp)
trap 'rm -f "$file"' EXIT
head -c "$((size * 1024 * 1024))" /dev/urandom > "$file"
cat "$file" > /dev/null # warm the page cache
export APIG_ACCESS_KEY=bench APIG_SECRET_KEY=bench
measure() { /usr/bin/time -f "%e s wall, %M KiB max RSS" "$@" 2>&1 >/dev/null | tail -1; }
echo "empty body:          $(measure "$apig" sign PUT https://h/upload --date 20240403T101500Z)"
echo "${size} MiB -d @FILE:  $(measure "$apig" sign PUT https://h/upload --date 20240403T101500Z -d "@$file")"
echo "${size} MiB -d @-:     $(measure sh -c "\"$apig\" sign PUT https://h/upload --date 20240403T101500Z -d @- < \"$file\"")"
