#!/usr/bin/env bash
# `pare sign` of an image in a local registry (Debian's docker-registry: no referrers API, so the
# bundle goes through the `sha256-<hex>` fallback tag) and `pare verify` with a key, both forms.
# Each sign run uses a fresh P-256 key (so it writes: a bundle referrer, the fallback index and a
# new `.sig` layer), each verify run reads everything back. Prints every run and the best.
# Usage: bench/sign.sh [RUNS]; PARE_BIN=PATH times that binary instead of a fresh release build.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
if [ -n "${PARE_BIN:-}" ]; then
  pare=$(realpath "$PARE_BIN")
else
  cargo build --release --locked -q -p pare-cli
  pare="$PWD/target/release/pare"
fi
work=$(mktemp -d /tmp/pare-bench-sign.XXXXXX)
trap 'kill $reg_pid 2>/dev/null || true; rm -rf "$work"' EXIT
export PARE_CACHE_DIR="$work/cache" COSIGN_PASSWORD=""
unset SOURCE_DATE_EPOCH

. bench/lib.sh
start_registry "$work"

# A small image (signing never reads layers: only the manifest's digest matters).
mkdir -p "$work/rootfs/etc" && cp /etc/os-release "$work/rootfs/etc/"
ref="127.0.0.1:$port/bench/app:1.0"
"$pare" -q copy "dir:$work/rootfs" "$ref" >/dev/null
for i in $(seq "$runs"); do
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/k$i.key" 2>/dev/null
done
openssl pkey -pubout -in "$work/k1.key" -out "$work/k1.pub" 2>/dev/null

best() { sort -n | head -1; }
time_ms() { # command...: wall milliseconds
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}
echo "pare sign $ref --key (a new key each run), ms:"
sign=$(for i in $(seq "$runs"); do time_ms "$pare" -q sign "$ref" --key "$work/k$i.key"; done | tee /dev/stderr | best)
echo "pare verify $ref --key, ms ($runs signatures of each form attached, one by this key):"
verify=$(for _ in $(seq "$runs"); do time_ms "$pare" -q verify "$ref" --key "$work/k1.pub"; done | tee /dev/stderr | best)
echo "pare sign of the same image in an oci: layout (offline), ms:"
"$pare" -q copy "$ref" "oci:$work/layout:app" >/dev/null
layout=$(for i in $(seq "$runs"); do time_ms "$pare" -q sign "oci:$work/layout:app" --key "$work/k$i.key"; done | tee /dev/stderr | best)
echo "pare --version (process start), ms:"
start=$(for _ in $(seq "$runs"); do time_ms "$pare" --version; done | best)
echo
echo "| pare sign (registry) | pare verify --key (registry) | pare sign (layout) | process start |"
echo "| ${sign} ms | ${verify} ms | ${layout} ms | ${start} ms |"
