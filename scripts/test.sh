#!/usr/bin/env bash
# The whole test suite: system packages, then every test of the workspace.
# Tests start their own servers (a docker-registry on 127.0.0.1 per test) and stop them.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/system-deps.sh
cargo test --workspace --locked
