#!/usr/bin/env bash
# Installs pare and runs its main job: builds the gallery's `static` image from Debian's signed
# archive (amd64 and arm64), shows what is in it and scans it for known vulnerabilities.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/system-deps.sh
cargo install --locked --path crates/cli --root "${PARE_PREFIX:-$HOME/.local}"
pare="${PARE_PREFIX:-$HOME/.local}/bin/pare"
out="${TMPDIR:-/tmp}/pare-quickstart"
rm -rf "$out"
"$pare" gallery list
"$pare" build gallery:static --to "oci:$out/layout:static"
"$pare" inspect "oci:$out/layout:static" --all-platforms
"$pare" ls "oci:$out/layout:static" /etc --shallow --platform linux/amd64
"$pare" cat "oci:$out/layout:static" /etc/os-release --platform linux/amd64
"$pare" why gallery:static tzdata
"$pare" sbom "oci:$out/layout:static"                       # what ships (SPDX: --format spdx-json)
skopeo inspect "oci:$out/layout:static" >/dev/null && echo "skopeo reads the image too"
# The vulnerability database: Debian's security tracker, its DSA/DLA lists and OSV. Where those hosts
# are out of reach, the snapshot bundled with the tests (to 2026-08-21) stands in.
if ! "$pare" db update; then
  echo "pare db update could not reach the official sources; using the bundled snapshot instead" >&2
  data=crates/vuln/tests/fixtures/vulndata
  "$pare" db update --from "$data/debian-tracker-lists-merged/DSA-list" \
    --from "$data/debian-tracker-lists-merged/DLA-list" --from "$data/cve-records"
fi
"$pare" scan "oci:$out/layout:static" --platform linux/amd64                # --fail-on high in CI
