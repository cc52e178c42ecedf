#!/usr/bin/env bash
# pare scan, warm and cold (issue 5):
#   1. an SBOM of 500 real Debian packages (the first 500 paragraphs of this machine's dpkg status),
#      scanned RUNS times against a database built from all of ../shared/vulndata: best and median;
#   2. a full-OS image archive (mmdebstrap --variant=minbase bookworm, as a docker-archive) scanned
#      cold (a fresh cache: the layer is read and cataloged, then matched).
# Peers: trivy cannot download its vulnerability database here and grype cannot be installed, so the
# script prints what trivy does run on the same input (SBOM generation) for scale, and says so.
# Usage: bench/scan.sh [RUNS]   (default 20)
set -euo pipefail
runs="${1:-20}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
data="${VULNDATA:-$repo/../shared/vulndata}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release -q -p pare-cli --manifest-path "$repo/Cargo.toml"
pare="${CARGO_TARGET_DIR:-$repo/target}/release/pare"
now() { date +%s.%N; }
ms() { echo "($2 - $1) * 1000" | bc -l | xargs printf '%.1f'; }

# The database: every source in vulndata.
from=()
for f in debian-tracker-lists-merged/DSA-list debian-tracker-lists-merged/DLA-list go-vulndb/osv \
         pypi-advisory-database/vulns rustsec-advisory-db/osv cve-records debian-tracker-json-samples; do
  [ -e "$data/$f" ] && from+=(--from "$data/$f")
done
t0=$(now); "$pare" -q db update --db "$work/vuln.db" "${from[@]}"; t1=$(now)
echo "db update (all of vulndata): $(ms "$t0" "$t1") ms, $(du -h "$work/vuln.db" | cut -f1)"

# 1. 500 packages, warm.
mkdir -p "$work/root/var/lib/dpkg" "$work/root/etc"
awk -v RS= -v ORS='\n\n' 'NR <= 500' /var/lib/dpkg/status > "$work/root/var/lib/dpkg/status"
cp /etc/os-release "$work/root/etc/os-release"
"$pare" -q sbom "dir:$work/root" --format cyclonedx-json -o "$work/sbom.cdx.json"
echo "SBOM: $(grep -c '"purl"' "$work/sbom.cdx.json") purls"
"$pare" -q scan "$work/sbom.cdx.json" --db "$work/vuln.db" --format json > "$work/report.json"
echo "findings: $(grep -c '"id": "' "$work/report.json" || true)"
times=()
for _ in $(seq "$runs"); do
  t0=$(now); "$pare" -q scan "$work/sbom.cdx.json" --db "$work/vuln.db" --format json > /dev/null; t1=$(now)
  times+=("$(ms "$t0" "$t1")")
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo "pare scan, 500-package SBOM, warm ($runs runs): best $(echo "$sorted" | head -1) ms, median $(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p") ms (goal: under 50 ms)"
/usr/bin/time -f '%M' -o "$work/mem" "$pare" -q scan "$work/sbom.cdx.json" --db "$work/vuln.db" > /dev/null
echo "  peak memory $(( $(cat "$work/mem") / 1024 )) MiB"

# 2. A full-OS image archive, cold.
if command -v mmdebstrap > /dev/null; then
  mmdebstrap --quiet --variant=minbase bookworm "$work/minbase.tar" http://deb.debian.org/debian > /dev/null 2>&1
  mkdir "$work/minbase" && tar -C "$work/minbase" -xf "$work/minbase.tar" 2>/dev/null || true
  "$pare" -q copy "dir:$work/minbase" "docker-archive:$work/minbase-image.tar:minbase:latest" > /dev/null
  rm -rf "$work/minbase"
  echo "minbase image: $(du -h "$work/minbase-image.tar" | cut -f1)"
  export PARE_CACHE_DIR="$work/cache"
  t0=$(now); "$pare" -q scan "docker-archive:$work/minbase-image.tar" --db "$work/vuln.db" --format json > "$work/minbase.json"; t1=$(now)
  echo "pare scan, minbase docker-archive, cold: $(ms "$t0" "$t1") ms, $(grep -c '"id": "' "$work/minbase.json" || true) findings"
  trivy="${CARGO_TARGET_DIR:-$repo/target}/venv-trivy/bin/trivy"
  if [ -x "$trivy" ]; then
    t0=$(now)
    if "$trivy" -q image --input "$work/minbase-image.tar" --cache-backend memory --format cyclonedx \
      > "$work/trivy.cdx.json" 2> "$work/trivy.err"; then
      t1=$(now)
      echo "trivy image --input, same archive, cold, SBOM only (no vulnerability DB can be downloaded here): $(ms "$t0" "$t1") ms"
    else
      echo "trivy failed: $(head -3 "$work/trivy.err")"
    fi
  fi
else
  echo "mmdebstrap not installed: cold full-OS scan skipped"
fi
