#!/usr/bin/env bash
# Pull + unpack of the same multi-layer image from a local docker-registry:
# pare (`pare pull` + `pare unpack`) against skopeo (`skopeo copy` + `umoci unpack`).
# Prints wall time and peak memory of each and the ratio. Usage: bench/pull-unpack.sh [SIZE_MB] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-500}
runs=${2:-3}
./scripts/system-deps.sh
cargo build --release --locked -q -p pare-cli
pare="$PWD/target/release/pare"
work=$(mktemp -d /tmp/pare-bench.XXXXXX)
trap 'kill $reg_pid 2>/dev/null || true; rm -rf "$work"' EXIT

# A real registry on a free port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/registry.yml" <<YML
version: 0.1
storage: { filesystem: { rootdirectory: $work/registry } }
http: { addr: 127.0.0.1:$port }
log: { level: error }
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done

# A multi-layer image of real files (this machine's /usr), about SIZE_MB uncompressed, 4 layers.
umoci init --layout "$work/src" >/dev/null
umoci new --image "$work/src:bench" >/dev/null
per_layer=$((size_mb / 4))
layer=0
for dir in /usr/lib /usr/share /usr/libexec /usr/include /usr/bin /usr/local /usr/sbin /usr/src; do
  [ $layer -lt 4 ] || break
  [ -d "$dir" ] || continue
  stage="$work/stage$layer"
  mkdir -p "$stage"
  # Copy files until the layer reaches its share of the size.
  (cd "$dir" && find . -type f -size -20M -print0 2>/dev/null | head -z -n 200000) | \
    (cd "$dir" && python3 -c '
import os, sys, shutil
limit = int(sys.argv[1]) * 1024 * 1024; total = 0; dst = sys.argv[2]
for p in sys.stdin.buffer.read().split(b"\0"):
    if not p: continue
    try: size = os.path.getsize(p)
    except OSError: continue
    if total + size > limit: continue
    os.makedirs(os.path.join(dst.encode(), os.path.dirname(p)), exist_ok=True)
    try: shutil.copy2(p, os.path.join(dst.encode(), p)); total += size
    except OSError: pass
    if total >= limit * 0.98: break
' "$per_layer" "$stage")
  umoci insert --image "$work/src:bench" "$stage" "/data$layer" >/dev/null
  rm -rf "$stage"
  layer=$((layer + 1))
done
skopeo copy -q --dest-tls-verify=false "oci:$work/src:bench" "docker://127.0.0.1:$port/bench:latest"
ref="127.0.0.1:$port/bench:latest"
compressed=$(du -sb "$work/registry" | cut -f1)

measure() { # name, command...: prints seconds and peak KiB of the best run
  local name=$1; shift
  local best_t=999999 best_m=0
  for _ in $(seq "$runs"); do
    rm -rf "$work/out" "$work/cache"; mkdir -p "$work/out"
    if ! /usr/bin/time -f '%e %M' -o "$work/time" bash -c "$*" >"$work/run.log" 2>&1; then
      echo "$name failed:" >&2; cat "$work/run.log" >&2; exit 1
    fi
    read -r t m < "$work/time"
    if python3 -c "import sys; sys.exit(0 if $t < $best_t else 1)"; then best_t=$t; best_m=$m; fi
  done
  echo "$name $best_t $best_m"
}

export PARE_CACHE_DIR="$work/cache"
p=$(measure pare "'$pare' -q pull '$ref' --to 'oci:$work/out/layout:bench' && '$pare' -q unpack 'oci:$work/out/layout:bench' '$work/out/rootfs'")
s=$(measure skopeo+umoci "skopeo copy -q --src-tls-verify=false 'docker://$ref' 'oci:$work/out/layout:bench' && umoci unpack --image '$work/out/layout:bench' '$work/out/bundle'")
read -r _ pt pm <<<"$p"
read -r _ st sm <<<"$s"
printf 'image: %s, %d layers, %s MB compressed in the registry, about %s MB of files\n' "$ref" "$layer" "$((compressed / 1000000))" "$size_mb"
printf '%-14s %8s s %8s MiB\n' "pare" "$pt" "$((pm / 1024))" "skopeo+umoci" "$st" "$((sm / 1024))"
python3 -c "print(f'ratio (skopeo+umoci / pare): time {$st/$pt:.2f}x, peak memory {$sm/$pm:.2f}x')"
