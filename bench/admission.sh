#!/usr/bin/env bash
# Admission webhook latency (issue 13): `pare admission serve` on 127.0.0.1 with a policy of
# signature + non-root + digest pinning + forbidden contents + binaries that load, over the signed
# gallery image bookworm/static pushed to Debian's docker-registry on 127.0.0.1.
#  1. cold verdict: a fresh server and empty caches, one Pod review, timed by curl (RUNS times);
#  2. warm: wrk (a second process, 2 threads, 8 connections, keep-alive) posting the same review
#     for DURATION seconds, paced near 500 requests/s, then unpaced: requests/s and the latency
#     distribution (p50/p90/p99);
#  3. the server's peak resident set size (VmHWM) after the load.
# Needs wrk (`apt-get install wrk`), docker-registry, openssl, curl, and deb.debian.org for the
# gallery image's .debs (cached in PARE_CACHE_DIR after the first run).
# Usage: bench/admission.sh [RUNS] [DURATION]; PARE_BIN=PATH uses that binary instead of a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
duration=${2:-20}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
if [ -n "${PARE_BIN:-}" ]; then
  pare=$(realpath "$PARE_BIN")
else
  cargo build --release --locked -q -p pare-cli
  pare="${CARGO_TARGET_DIR:-$PWD/target}/release/pare"
fi
work=$(mktemp -d /tmp/pare-bench-admission.XXXXXX)
server_pid=""
trap 'kill $reg_pid $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
debs="${PARE_CACHE_DIR:-$HOME/.cache/pare}"
unset SOURCE_DATE_EPOCH
export COSIGN_PASSWORD=""

. bench/lib.sh
start_registry "$work"

# The signed gallery image, built into the registry (the .debs come from pare's usual cache).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/cosign.key" 2>/dev/null
openssl pkey -pubout -in "$work/cosign.key" -out "$work/cosign.pub" 2>/dev/null
ref="127.0.0.1:$port/gallery/static:bench"
PARE_CACHE_DIR="$debs" "$pare" -q build gallery:bookworm/static --arch amd64 --to "$ref" --sign --key "$work/cosign.key" \
  --format json > "$work/build.json"
digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["digest"])' "$work/build.json")
image="127.0.0.1:$port/gallery/static@$digest"

cat > "$work/policy.toml" <<'TOML'
[[rule]]
id = "signed"
check = "signature"
keys = ["cosign.pub"]

[[rule]]
id = "non-root"
check = "non-root-user"

[[rule]]
id = "digest-pinned"
check = "digest-pinned"

[[rule]]
id = "no-shell-or-package-manager"
check = "forbidden-contents"
forbid = ["shell", "package-manager"]

[[rule]]
id = "binaries-load"
check = "binaries-load"
TOML
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
cat > "$work/review.json" <<JSON
{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"bench",
 "kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},
 "name":"web","namespace":"prod","operation":"CREATE","userInfo":{"username":"bench"},
 "object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"prod"},
  "spec":{"containers":[{"name":"app","image":"$image"}]}},"oldObject":null,"dryRun":false}}
JSON

start_server() { # CACHE_DIR: starts the server with that (empty) cache, sets server_pid and url
  local listen
  listen="127.0.0.1:$(free_port)"
  PARE_CACHE_DIR="$1" "$pare" admission serve --policy "$work/policy.toml" --tls-cert "$work/tls.crt" \
    --tls-key "$work/tls.key" --listen "$listen" 2>>"$work/server.log" &
  server_pid=$!
  url="https://$listen"
  for _ in $(seq 100); do curl -fsk "$url/healthz" >/dev/null 2>&1 && return; sleep 0.05; done
  echo "the server did not start: $(cat "$work/server.log")" >&2; exit 1
}
post() { curl -sk -o "$work/answer.json" -w '%{time_total}' -H 'Content-Type: application/json' --data-binary "@$work/review.json" "$url/validate"; }

echo "pare $("$pare" --version | cut -d' ' -f2), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "image $image"
echo "cold verdict (fresh server, empty caches), ms:"
colds=()
for i in $(seq "$runs"); do
  start_server "$work/cache-$i"
  t=$(post)
  grep -q '"allowed":true' "$work/answer.json" || { echo "not allowed: $(cat "$work/answer.json")" >&2; exit 1; }
  colds+=("$(python3 -c "print(round($t*1000, 1))")")
  echo "  ${colds[-1]}"
  [ "$i" -lt "$runs" ] && { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; }
done
cold=$(printf '%s\n' "${colds[@]}" | sort -n | head -1)

# Warm: the last server has the verdict cached. First paced near 500 requests/s (8 connections,
# each waiting 15 ms after an answer: wrk has no fixed rate, its `delay()` spaces the requests),
# then unpaced (as many as the 2 cores answer).
lua() { # DELAY_MS
  cat <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$work/review.json"); wrk.body = f:read("*a"); f:close()
function delay() return $1 end
LUA
}
lua 15 > "$work/paced.lua"
lua 0 > "$work/max.lua"
wrk -t2 -c8 -d"${duration}s" --latency -s "$work/paced.lua" "$url/validate" | tee "$work/paced.txt"
wrk -t2 -c8 -d"${duration}s" --latency -s "$work/max.lua" "$url/validate" | tee "$work/max.txt"
rss=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
hits=$(curl -sk "$url/metrics" | awk '$1=="pare_admission_cache_hits_total" {print $2}')
figures() { # FILE: requests/s, p50, p90, p99
  awk '/Requests\/sec/ {r=$2} $1=="50%" {a=$2} $1=="90%" {b=$2} $1=="99%" {c=$2} END {printf "%s | %s | %s | %s", r, a, b, c}' "$1"
}
echo
echo "| cold verdict (best of $runs) | load | requests/s | p50 | p90 | p99 | server peak RSS | cache hits |"
echo "|---|---|---|---|---|---|---|---|"
echo "| ${cold} ms | paced (8 connections, 15 ms apart) | $(figures "$work/paced.txt") | $((rss / 1024)) MiB | ${hits} |"
echo "| | unpaced (8 connections) | $(figures "$work/max.txt") | | |"
