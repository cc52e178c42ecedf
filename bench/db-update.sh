#!/usr/bin/env bash
# `pare db update` import time of all of ../shared/vulndata (full DSA/DLA lists, tracker JSON samples, all Go,
# PyPI and RustSec OSV records, CVE records), the database size, and the warm lookup time of 500 Debian
# source packages (the `lookup_of_500_packages_is_fast` test of crates/vuln, release build).
# Usage: bench/db-update.sh [RUNS] [VULNDATA_DIR]; PARE_BIN=PATH times that binary instead of a fresh release build.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
data=${2:-../shared/vulndata}
[ -d "$data" ] || data=/work/shared/vulndata
if [ -n "${PARE_BIN:-}" ]; then
  pare=$(realpath "$PARE_BIN")
else
  cargo build --release --locked -q -p pare-cli
  pare="$PWD/target/release/pare"
fi
work=$(mktemp -d /tmp/pare-bench-db.XXXXXX)
trap 'rm -rf "$work"' EXIT
from=(
  --from "$data/debian-tracker-lists-merged/DSA-list" --from "$data/debian-tracker-lists-merged/DLA-list"
  --from "$data/debian-tracker-json-samples/vunnel/debian.json" --from "$data/go-vulndb"
  --from "$data/pypi-advisory-database" --from "$data/rustsec-advisory-db/osv" --from "$data/cve-records"
)
for i in $(seq "$runs"); do
  /usr/bin/time -f "import run $i: %e s wall, %M KB peak" "$pare" -q db update --db "$work/vuln.db" "${from[@]}"
done
echo "database: $(du -h "$work/vuln.db" | cut -f1)"
"$pare" db status --db "$work/vuln.db"
cargo test --release --locked -q -p pare-vuln --test db_file lookup_of_500_packages_is_fast -- --nocapture 2>&1 \
  | grep '500 lookups warm'
