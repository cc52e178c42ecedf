#!/usr/bin/env bash
# Pull + unpack of the same multi-layer image from a local docker-registry:
# pare (`pare pull` + `pare unpack`) against skopeo (`skopeo copy` + `umoci unpack`).
# Prints wall time and peak memory of each and the ratio, and pare's unpack alone.
# Usage: bench/pull-unpack.sh [RUNS]; PARE_BIN=PATH times that binary instead of a fresh release build.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
./scripts/system-deps.sh
if [ -n "${PARE_BIN:-}" ]; then
  pare=$(realpath "$PARE_BIN")
else
  cargo build --release --locked -q -p pare-cli
  pare="$PWD/target/release/pare"
fi
work=$(mktemp -d /tmp/pare-bench.XXXXXX)
trap 'kill $reg_pid 2>/dev/null || true; rm -rf "$work"' EXIT

# A real registry on a free port.
. bench/lib.sh
start_registry "$work"

# A multi-layer image of real files: one layer per directory of this machine's /usr
# (about 500 MB compressed, 1.4 GB of files on the machine the figures in docs/benchmarks.md come from).
umoci init --layout "$work/src" >/dev/null
umoci new --image "$work/src:bench" >/dev/null
layer=0
for dir in ${BENCH_DIRS:-/usr/lib/x86_64-linux-gnu /usr/share /usr/lib/python3 /usr/libexec}; do
  [ -d "$dir" ] || continue
  umoci insert --image "$work/src:bench" "$dir" "/data$layer" >/dev/null
  layer=$((layer + 1))
done
skopeo copy -q --dest-tls-verify=false "oci:$work/src:bench" "docker://127.0.0.1:$port/bench:latest"
ref="127.0.0.1:$port/bench:latest"
compressed=$(du -sb "$work/registry" | cut -f1)

measure() { # name, command...: prints seconds and peak KiB of the best run
  local name=$1; shift
  local best_t=999999 best_m=0 all=()
  for _ in $(seq "$runs"); do
    rm -rf "$work/out" "$work/cache"; mkdir -p "$work/out"
    # Flush the deletions and earlier writes, so one run's writeback does not land in the next one's time.
    sync; sleep 1
    if ! /usr/bin/time -f '%e %M' -o "$work/time" bash -c "$*" >"$work/run.log" 2>&1; then
      echo "$name failed:" >&2; cat "$work/run.log" >&2; exit 1
    fi
    read -r t m < "$work/time"
    echo "  $name run: $t s, $((m / 1024)) MiB" >&2
    all+=("$t")
    if python3 -c "import sys; sys.exit(0 if $t < $best_t else 1)"; then best_t=$t; best_m=$m; fi
  done
  local median; median=$(printf '%s\n' "${all[@]}" | sort -n | sed -n "$(( (${#all[@]} + 1) / 2 ))p")
  echo "  $name median: $median s" >&2
  echo "$name $best_t $best_m"
}

export PARE_CACHE_DIR="$work/cache"
p=$(measure pare "'$pare' -q pull '$ref' --to 'oci:$work/out/layout:bench' && '$pare' -q unpack 'oci:$work/out/layout:bench' '$work/out/rootfs'")
s=$(measure skopeo+umoci "skopeo copy -q --src-tls-verify=false 'docker://$ref' 'oci:$work/out/layout:bench' && umoci unpack --image '$work/out/layout:bench' '$work/out/bundle'")
files=$(du -sb "$work/out/bundle/rootfs" 2>/dev/null | cut -f1 || echo 0)
# pare's unpack alone, from a layout pulled once (space freed first: /tmp may be small).
rm -rf "$work/out" "$work/cache"
"$pare" -q pull "$ref" --to "oci:$work/pulled:bench" >/dev/null
u=$(measure pare-unpack "'$pare' -q unpack 'oci:$work/pulled:bench' '$work/out/rootfs'")
read -r _ pt pm <<<"$p"
read -r _ ut um <<<"$u"
read -r _ st sm <<<"$s"
printf 'image: %s, %d layers, %s MB in the registry, %s MB unpacked\n' "$ref" "$layer" "$((compressed / 1000000))" "$((files / 1000000))"
printf '%-14s %8s s %8s MiB\n' "pare" "$pt" "$((pm / 1024))" "skopeo+umoci" "$st" "$((sm / 1024))" \
  "(pare unpack)" "$ut" "$((um / 1024))"
python3 -c "print(f'ratio (skopeo+umoci / pare): time {$st/$pt:.2f}x, peak memory {$sm/$pm:.2f}x')"
