#!/usr/bin/env bash
# Installs pare and runs its main job on a small image made from a directory.
# (When the builder lands, this builds the gallery's `static` image and scans it.)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/system-deps.sh
cargo install --locked --path crates/cli --root "${PARE_PREFIX:-$HOME/.local}"
pare="${PARE_PREFIX:-$HOME/.local}/bin/pare"
out="${TMPDIR:-/tmp}/pare-quickstart"
rm -rf "$out"
SOURCE_DATE_EPOCH=0 "$pare" copy dir:crates/test/fixtures/hello-rootfs "oci:$out/layout:hello"
"$pare" inspect "oci:$out/layout:hello"
"$pare" ls "oci:$out/layout:hello"
"$pare" cat "oci:$out/layout:hello" /etc/os-release
skopeo inspect "oci:$out/layout:hello" >/dev/null && echo "skopeo reads the image too"
