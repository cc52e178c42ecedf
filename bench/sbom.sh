#!/usr/bin/env bash
# pare sbom against syft and trivy on the same image archive (issue 4), cold, side by side.
# The image: `mmdebstrap --variant=minbase bookworm` packed as a docker-archive (one layer), and,
# with BIG=1, a second image made of this machine's /usr/bin, /usr/lib/python3 and /usr/share/nodejs
# with its dpkg status (300+ MB; BIG_DIRS overrides the directories).
# Prints time (best of RUNS) and peak memory per tool, and the ratios; cold (empty caches) and
# warm (pare's per-layer inventory cache, trivy's layer cache, both filled by a first run).
# Usage: bench/sbom.sh [RUNS]   (default 3)
set -euo pipefail
runs="${1:-3}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release -q -p pare-cli --manifest-path "$repo/Cargo.toml"
pare="$target/release/pare"
syft="$target/venv-syft/bin/syft"
trivy="$target/venv-trivy/bin/trivy"
[ -x "$syft" ] && [ -x "$trivy" ] || { echo "run scripts/system-deps.sh first (syft and trivy venvs)"; exit 2; }

images=()
mmdebstrap --quiet --variant=minbase bookworm "$work/minbase.tar" http://deb.debian.org/debian > /dev/null 2>&1
mkdir "$work/minbase" && (tar -C "$work/minbase" -xf "$work/minbase.tar" 2> /dev/null || true)
"$pare" -q copy "dir:$work/minbase" "docker-archive:$work/minbase-image.tar:minbase:latest" > /dev/null
rm -rf "$work/minbase" "$work/minbase.tar"
images+=("$work/minbase-image.tar")
if [ "${BIG:-0}" = 1 ]; then
  mkdir -p "$work/big/etc" "$work/big/var/lib/dpkg"
  for d in ${BIG_DIRS:-/usr/bin /usr/lib/python3 /usr/share/nodejs}; do
    mkdir -p "$work/big$(dirname "$d")" && cp -a "$d" "$work/big$d" 2> /dev/null || true
  done
  cp /etc/os-release "$work/big/etc/" && cp /var/lib/dpkg/status "$work/big/var/lib/dpkg/"
  "$pare" -q copy "dir:$work/big" "docker-archive:$work/big-image.tar:big:latest" > /dev/null
  rm -rf "$work/big"
  images+=("$work/big-image.tar")
fi

purls() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for c in d.get("components", []) if c.get("purl")))' "$1"; }

# best-of-RUNS wall time (s) and the peak RSS (MiB) of that run, for one command; the caches
# under $work/cache are emptied before each run unless WARM=1.
measure() {
  local best="" mem=""
  for _ in $(seq "$runs"); do
    [ "${WARM:-0}" = 1 ] || rm -rf "$work/cache"
    /usr/bin/time -f '%e %M' -o "$work/t" "$@" > "$work/out" 2> "$work/err" || { echo "failed: $* $(head -3 "$work/err")" >&2; return 1; }
    read -r t m < "$work/t"
    if [ -z "$best" ] || (( $(echo "$t < $best" | bc -l) )); then best=$t; mem=$((m / 1024)); fi
  done
  echo "$best $mem"
}

for image in "${images[@]}"; do
  echo "== $(basename "$image") ($(du -h "$image" | cut -f1))"
  read -r pt pm < <(PARE_CACHE_DIR="$work/cache" measure "$pare" -q sbom "docker-archive:$image" --format cyclonedx-json)
  pp=$(purls "$work/out")
  read -r st sm < <(measure "$syft" "docker-archive:$image" -o cyclonedx-json -q)
  sp=$(purls "$work/out")
  read -r tt tm < <(measure "$trivy" -q image --input "$image" --cache-backend memory --skip-java-db-update --offline-scan --format cyclonedx)
  tp=$(purls "$work/out")
  printf '%-6s %7ss %5s MiB %5s purls\n' pare "$pt" "$pm" "$pp" syft "$st" "$sm" "$sp" trivy "$tt" "$tm" "$tp"
  echo "ratio: syft/pare $(echo "$st / $pt" | bc -l | xargs printf '%.1f')x, trivy/pare $(echo "$tt / $pt" | bc -l | xargs printf '%.1f')x (time, cold)"
  rm -rf "$work/cache"
  PARE_CACHE_DIR="$work/cache/pare" "$pare" -q sbom "docker-archive:$image" --format cyclonedx-json > /dev/null
  "$trivy" -q image --input "$image" --cache-dir "$work/cache/trivy" --skip-java-db-update --offline-scan --format cyclonedx > /dev/null
  read -r pwt pwm < <(WARM=1 PARE_CACHE_DIR="$work/cache/pare" measure "$pare" -q sbom "docker-archive:$image" --format cyclonedx-json)
  read -r twt twm < <(WARM=1 measure "$trivy" -q image --input "$image" --cache-dir "$work/cache/trivy" --skip-java-db-update --offline-scan --format cyclonedx)
  printf 'warm: pare %ss %s MiB, trivy %ss %s MiB\n' "$pwt" "$pwm" "$twt" "$twm"
done
