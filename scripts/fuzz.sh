#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each). Not part of CI.
#   scripts/fuzz.sh [SECONDS]
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`; installed if missing).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
for target in authorization canonicalize verify; do
    echo "== fuzz $target for ${seconds}s"
    cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -max_len=4096
done
