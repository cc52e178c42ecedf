#!/usr/bin/env bash
# The whole test suite: system packages, format and lint checks, docs, then every test of the workspace.
# Tests start their own servers (a docker-registry on 127.0.0.1 per test) and stop them.
# Tests that need Debian's archive fail when it is unreachable; PARE_TEST_OFFLINE=1 leaves them out.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { echo "== $1 ($(( $(date +%s) - started ))s)"; }
step "system packages"
./scripts/system-deps.sh
step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
step "cargo test"
cargo test --workspace --locked
step "done: the suite took $(( $(date +%s) - started ))s"
