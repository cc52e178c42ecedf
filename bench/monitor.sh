#!/usr/bin/env bash
# The fleet monitor at scale (issue 14): N stored SBOMs of about 300 Debian packages each are registered
# over the API, then the vulnerability database is replaced by a newer one and the rescan of every stored
# SBOM is timed (from the file's replacement until /api/v1/status says nothing is left), with the server's
# peak resident memory (VmHWM), and the p50/p99 latency of the API and dashboard queries at that size.
#
# The SBOMs are pare JSON inventories made from the real DSA list (crates/vuln/tests/fixtures): each takes
# 300 of the bookworm source packages the list names, each at the fixed version or just below it (`~bench`,
# which sorts before it), chosen at random per SBOM: the rescans match real advisories with varied versions.
# The older database is the DSA list without its newest 60 advisories for bookworm, the newer one the whole
# list: the update adds findings to every image (those at a version just below a dropped fix).
#
# Usage: bench/monitor.sh [N] [postgres://URL | postgres]   (default 10000, SQLite in a temporary directory;
#        `postgres`: a throwaway PostgreSQL cluster started here from Debian's packages)
#        WORKERS=2 bench/monitor.sh N postgres   two servers on one PostgreSQL share the rescan
#        PARE_BIN=PATH times that binary instead of a fresh release build.
#        UPDATE=none: an update that adds no finding to these images (default: one that adds ~134 to each).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
database=${2:-}
workers=${WORKERS:-1}
if [ -n "${PARE_BIN:-}" ]; then
  pare=$(realpath "$PARE_BIN")
else
  cargo build --release --locked -q -p pare-cli
  pare="$PWD/target/release/pare"
fi
work=$(mktemp -d /tmp/pare-bench-monitor.XXXXXX)
pids=()
stop_pg() { :; }
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; stop_pg; rm -rf "$work"; }
trap cleanup EXIT
list=crates/vuln/tests/fixtures/vulndata/debian-tracker-lists-merged/DSA-list
python3 - "$list" "$work/old-DSA-list" "${UPDATE:-adds}" <<'PY'
import re, sys
text = open(sys.argv[1]).read().split("\n")
starts = [i for i, l in enumerate(text) if l.startswith("[")] + [len(text)]
blocks = [text[a:b] for a, b in zip(starts, starts[1:])]
# The list is newest first: drop the newest 60 advisories that fix a bookworm package (the SBOMs are
# bookworm's), so that the update brings findings to the images, as a real one does.
fixes = lambda b: any(re.match(r"\s*\[bookworm\] - \S+ \d", l) for l in b)
# UPDATE=none: the newest 60 of any release (all trixie-only: the update adds nothing to these images, the
# case of most updates for most images).
dropped = [i for i, b in enumerate(blocks) if sys.argv[3] == "none" or fixes(b)][:60]
kept = [l for i, b in enumerate(blocks) if i not in dropped for l in b]
open(sys.argv[2], "w").write("\n".join(text[:starts[0]] + kept) + "\n")
PY
"$pare" -q db update --db "$work/vuln.db" --from "$work/old-DSA-list"
if [ "$database" = postgres ]; then
  # A throwaway PostgreSQL cluster from Debian's packages on 127.0.0.1 (as `nobody` when run as root),
  # with its default durability (fsync on), as the tests start one.
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  mkdir "$work/pg"
  as=()
  if [ "$(id -u)" = 0 ]; then chown nobody "$work" "$work/pg"; as=(runuser -u nobody --); fi
  . bench/lib.sh
  port=$(free_port)
  "${as[@]}" "$bin/initdb" -D "$work/pg/data" -U pare --auth=trust -E UTF8 > /dev/null
  "${as[@]}" "$bin/pg_ctl" -D "$work/pg/data" -o "-h 127.0.0.1 -p $port -k $work/pg" -l "$work/pg/log" -w start > /dev/null
  stop_pg() { "${as[@]}" "$bin/pg_ctl" -D "$work/pg/data" -m immediate stop > /dev/null 2>&1 || true; }
  "${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U pare monitor
  database="postgres://pare@127.0.0.1:$port/monitor"
fi
[ -n "$database" ] || database="sqlite:$work/monitor.db"
write=$("$pare" monitor token create --scope write --database "$database")
read=$("$pare" monitor token create --scope read --database "$database")
urls=()
for w in $(seq "$workers"); do
  "$pare" monitor serve --listen 127.0.0.1:0 --database "$database" --vuln-db "$work/vuln.db" \
    --poll-interval 0.5 --worker-id "bench-$w" --advice-interval 0 2> "$work/serve-$w.log" &
  pids+=($!)
  for _ in $(seq 200); do grep -q '^Listening on' "$work/serve-$w.log" && break; sleep 0.1; done
  urls+=("$(sed -n 's/^Listening on \([^ ]*\).*/\1/p' "$work/serve-$w.log")")
done
python3 - "$list" "$n" "$write" "$read" "$work" "${urls[@]}" <<'PY'
import json, random, re, sys, time, urllib.request, concurrent.futures
lst, n, write, read, work, urls = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]
fixed = {}
for m in re.finditer(r"\[bookworm\] - (\S+) (\S+)", open(lst).read()):
    if m.group(2)[0].isdigit():
        fixed.setdefault(m.group(1), m.group(2))
names = sorted(fixed)
def sbom(i):
    pkgs, rng = [], random.Random(i)  # the same SBOMs on every run, whichever thread makes them
    for name in rng.sample(names, min(300, len(names))):
        v = fixed[name] + ("~bench" if rng.random() < 0.5 else "")
        pkgs.append({"ecosystem": "deb", "name": name, "version": v, "source_name": name, "source_version": v,
                     "architecture": "amd64", "purl": f"pkg:deb/debian/{name}@{v}?arch=amd64&distro=debian-12",
                     "licenses": [], "files": [], "locations": []})
    return {"subject": {"name": f"bench/app-{i % 500}", "digest": "sha256:%064x" % (i + 1)},
            "os": {"id": "debian", "version_id": "12", "version_codename": "bookworm", "fields": {}},
            "packages": pkgs, "tool": {"name": "bench", "version": "1"}}
def upload(i):
    env = "production" if i % 3 == 0 else "staging"
    req = urllib.request.Request(f"{urls[i % len(urls)]}/api/v1/images?environment={env}&team=team-{i % 20}&tag=t{i}",
        data=json.dumps(sbom(i)).encode(), method="POST",
        headers={"authorization": f"Bearer {write}", "content-type": "application/json"})
    urllib.request.urlopen(req, timeout=600).read()
t = time.time()
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    list(pool.map(upload, range(n)))
print(f"registered {n} SBOMs of {min(300, len(names))} packages in {time.time() - t:.1f} s "
      f"({n / (time.time() - t):.0f}/s, each scanned at upload)")
PY
vmhwm() { awk '/VmHWM/ {printf "%d MiB", $2/1024}' "/proc/$1/status"; }
status() { curl -s -H "Authorization: Bearer $read" "${urls[0]}/api/v1/status"; }
# Open findings summed over the image list (the store's per-image counts; /metrics may be a few seconds
# behind what another server recorded).
open_findings() {
  python3 - "${urls[0]}" "$read" <<'PY'
import json, sys, urllib.request
url, token, total, offset = sys.argv[1], sys.argv[2], 0, 0
while True:
    page = json.load(urllib.request.urlopen(urllib.request.Request(
        f"{url}/api/v1/images?limit=1000&offset={offset}", headers={"authorization": f"Bearer {token}"})))
    if not page:
        break
    total += sum(sum(i["open"].values()) for i in page)
    offset += len(page)
print(total)
PY
}
findings_before=$(open_findings)
before=$(status | python3 -c 'import json,sys; print(json.load(sys.stdin)["database_sha256"])')
echo "peak RSS after registration: $(for p in "${pids[@]}"; do vmhwm "$p"; echo -n ' '; done)"
# The servers' CPU time (user + system, seconds), to tell the work from the machine's speed of the day.
cpu() { local t=0; for p in "${pids[@]}"; do t=$(awk -v t="$t" -v hz="$(getconf CLK_TCK)" '{print t + ($14 + $15) / hz}' "/proc/$p/stat"); done; echo "$t"; }
cpu_before=$(cpu)
"$pare" -q db update --db "$work/vuln.db" --from "$list"
start=$(date +%s.%N)
while :; do
  s=$(status)
  if python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(not (s["database_sha256"] != sys.argv[2] and s["unscanned"] == 0))' "$s" "$before"; then break; fi
  sleep 0.2
done
end=$(date +%s.%N)
echo "rescan of $n SBOMs after the database update: $(python3 -c "print(f'{$end - $start:.1f}')") s (includes up to 0.5 s of polling)"
echo "server CPU during the rescan: $(python3 -c "c = $(cpu) - $cpu_before; print(f'{c:.1f} s ({c / ($end - $start):.2f} cores busy)')")"
echo "peak RSS: $(for p in "${pids[@]}"; do vmhwm "$p"; echo -n ' '; done)"
echo "open findings: $findings_before before the update, $(open_findings) after"
python3 - "${urls[0]}" "$read" <<'PY'
import collections, json, sys, urllib.request
url, token = sys.argv[1], sys.argv[2]
by, offset = collections.Counter(), 0
while True:
    page = json.load(urllib.request.urlopen(urllib.request.Request(
        f"{url}/api/v1/images?limit=1000&offset={offset}", headers={"authorization": f"Bearer {token}"})))
    if not page:
        break
    by.update(i["scanned_by"] for i in page)
    offset += len(page)
print("last scan recorded by: " + ", ".join(f"{w} {n}" for w, n in sorted(by.items())) + f" ({offset} images)")
PY
python3 - "${urls[0]}" "$read" <<'PY'
import sys, time, urllib.request
url, token = sys.argv[1], sys.argv[2]
def p(path, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        urllib.request.urlopen(urllib.request.Request(url + path, headers={"authorization": f"Bearer {token}"})).read()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"{path}: p50 {times[len(times) // 2]:.1f} ms, p99 {times[int(len(times) * 0.99) - 1]:.1f} ms ({runs} requests)")
p("/api/v1/images/sha256:%064x" % 1, 200)
p("/api/v1/trend", 50)
p("/metrics", 50)
p("/api/v1/images", 20)
p("/", 20)
PY
