#!/usr/bin/env bash
# Compressed size of every gallery image (bookworm and trixie, amd64), with gzip and with zstd layers:
# the sum of the layer blobs `pare build --format json` reports; zstd at its default level (3) and at 19,
# with the wall time of each build (warm .deb cache). Needs deb.debian.org; .debs are cached
# in PARE_CACHE_DIR (default pare's), so only the first run downloads.
# Usage: bench/gallery-sizes.sh [NAME...]   (default: every gallery image without -debug)
#        PARE_BIN=PATH uses that binary instead of a fresh debug build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${PARE_BIN:-}" ]; then
  pare=$(realpath "$PARE_BIN")
else
  cargo build --locked -q -p pare-cli
  pare="${CARGO_TARGET_DIR:-$PWD/target}/debug/pare"
fi
work=$(mktemp -d /tmp/pare-gallery-sizes.XXXXXX)
trap 'rm -rf "$work"' EXIT
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in gallery/*/*.toml; do names+=("$(basename "$(dirname "$f")")/$(basename "$f" .toml)"); done
fi
echo "pare $("$pare" --version | cut -d' ' -f2), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "| image | packages | gzip | zstd | zstd/gzip | zstd level 19 | build time gzip / zstd / zstd 19 |"
echo "|---|---|---|---|---|---|---|"
for name in "${names[@]}"; do
  sizes=()
  times=()
  for c in gzip zstd zstd:19; do
    out="$work/${name//\//-}-${c/:/-}"
    level=()
    [ "${c#*:}" != "$c" ] && level=(--compression-level "${c#*:}")
    t0=$(date +%s.%N)
    "$pare" -q build "gallery:$name" --arch amd64 --compression "${c%%:*}" "${level[@]}" --format json --to "oci:$out:x" > "$out.json"
    times+=("$(python3 -c 'import sys; print(f"{float(sys.argv[2])-float(sys.argv[1]):.1f} s")' "$t0" "$(date +%s.%N)")")
    sizes+=("$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1]))["images"][0]; print(sum(l["size"] for l in i["layers"]), len(i["packages"]))' "$out.json")")
    rm -rf "$out"
  done
  read -r gz pkgs <<< "${sizes[0]}"
  read -r zs _ <<< "${sizes[1]}"
  read -r z19 _ <<< "${sizes[2]}"
  python3 -c 'import sys; n,p,g,z,z19,t=sys.argv[1],sys.argv[2],int(sys.argv[3]),int(sys.argv[4]),int(sys.argv[5]),sys.argv[6]; f=lambda b: f"{b/1e6:.2f} MB ({b/2**20:.2f} MiB)"; print(f"| `gallery:{n}` | {p} | {f(g)} | {f(z)} | {z/g:.2f} | {f(z19)} | {t} |")' "$name" "$pkgs" "$gz" "$zs" "$z19" "${times[*]}"
done
