#!/usr/bin/env bash
# Bundle verification (issue 12): a key-based DSSE bundle pare writes and a keyless conformance bundle
# (happy-path-v0.3: Fulcio chain, SCT, Rekor v1 inclusion proof + checkpoint + SET), pare against the
# independent verifiers side by side, with their ratio:
#   in-process, trusted root loaded once (warm), each run parsing the bundle: pare's `verify_bundle`
#   (release build of crates/sign/examples/verify_bench.rs), sigstore-js `@sigstore/verify` (key-based),
#   sigstore-python 4.5.1 `Verifier.verify_artifact` (keyless);
#   one process per verification: `pare verify-blob` (PARE_BIN, default the debug build) against
#   `node` + sigstore-js and `sigstore verify identity --offline`.
# Needs scripts/system-deps.sh (venv-sigstore, npm-sigstore). Usage: bench/verify.sh [ITERATIONS] [PROCESS_RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-1000}
process_runs=${2:-10}
target="${CARGO_TARGET_DIR:-$PWD/target}"
suite="$PWD/crates/sign/tests/fixtures/sigstore-conformance"
cases="$suite/bundle-verify"
identity="https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
issuer="https://token.actions.githubusercontent.com"
work=$(mktemp -d /tmp/pare-bench-verify.XXXXXX)
trap 'rm -rf "$work"' EXIT

cargo build --release --locked -q -p pare-sign --example verify_bench
pare_lines=$(TMPDIR="$work" "$target/release/examples/verify_bench" "$suite" "$iterations")
echo "$pare_lines"
key_pub="$work/pare-bench-key.pub"; key_bundle="$work/pare-bench-key-bundle.json"

cat > "$work/js.js" <<'JS'
const fs = require('fs'); const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');
const [artifactPath, bundlePath, keyPath, n] = process.argv.slice(2);
const json = fs.readFileSync(bundlePath, 'utf8');
const der = crypto.createPublicKey(fs.readFileSync(keyPath)).export({ type: 'spki', format: 'der' });
const artifact = fs.readFileSync(artifactPath);
const hint = JSON.parse(json).verificationMaterial.publicKey.hint;
const trust = toTrustMaterial({ certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] }, { [hint]: { rawBytes: der } });
const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
const once = () => {
  const bundle = bundleFromJSON(JSON.parse(json));
  verifier.verify(toSignedEntity(bundle));
  const statement = JSON.parse(Buffer.from(bundle.content.dsseEnvelope.payload).toString('utf8'));
  const digest = crypto.createHash('sha256').update(artifact).digest('hex');
  if (!statement.subject.some((s) => s.digest.sha256 === digest)) throw new Error('subject');
};
once();
const start = process.hrtime.bigint();
for (let i = 0; i < Number(n); i++) once();
console.log(`sigstore-js key-based DSSE bundle: ${(Number(process.hrtime.bigint() - start) / 1e6 / Number(n)).toFixed(3)} ms per verification (${n} runs)`);
JS
NODE_PATH="$target/npm-sigstore/node_modules" node "$work/js.js" "$cases/a.txt" "$key_bundle" "$key_pub" "$iterations" | tee "$work/js.txt"

py_runs=$(( iterations < 200 ? iterations : 200 ))
cat > "$work/py.py" <<'PY'
import sys, time
from sigstore.models import Bundle
from sigstore.verify import Verifier, policy
artifact, bundle_path, identity, issuer, n = sys.argv[1:6]
data = open(artifact, "rb").read(); text = open(bundle_path).read()
verifier = Verifier.production(offline=True)
pol = policy.Identity(identity=identity, issuer=issuer)
verifier.verify_artifact(data, Bundle.from_json(text), pol)
start = time.perf_counter()
for _ in range(int(n)):
    verifier.verify_artifact(data, Bundle.from_json(text), pol)
print(f"sigstore-python keyless bundle (happy-path-v0.3): {(time.perf_counter() - start) * 1e3 / int(n):.3f} ms per verification ({n} runs)")
PY
"$target/venv-sigstore/bin/python" "$work/py.py" "$cases/a.txt" "$cases/happy-path-v0.3/bundle.sigstore.json" "$identity" "$issuer" "$py_runs" 2>/dev/null | tee "$work/py.txt"

ms() { grep -o '[0-9.]* ms per' <<<"$1" | cut -d' ' -f1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", b / a }'; }
echo "in-process ratio, key-based (sigstore-js / pare): $(ratio "$(ms "$(grep key-based <<<"$pare_lines")")" "$(ms "$(cat "$work/js.txt")")")"
echo "in-process ratio, keyless (sigstore-python / pare): $(ratio "$(ms "$(grep keyless <<<"$pare_lines")")" "$(ms "$(cat "$work/py.txt")")")"

# One process per verification (start-up included): best of PROCESS_RUNS.
pare_bin=${PARE_BIN:-$target/debug/pare}
[ -x "$pare_bin" ] || cargo build --locked -q -p pare-cli
best() { # COMMAND... → best wall time in ms
  local best=""
  for _ in $(seq "$process_runs"); do
    local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
    local t=$(( (t1 - t0) / 1000 )); [ -z "$best" ] || [ "$t" -lt "$best" ] && best=$t
  done
  awk -v us="$best" 'BEGIN { printf "%.1f", us / 1000 }'
}
cat > "$work/js1.js" <<'JS'
const fs = require('fs'); const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');
const [bundlePath, keyPath] = process.argv.slice(2);
const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
const der = crypto.createPublicKey(fs.readFileSync(keyPath)).export({ type: 'spki', format: 'der' });
const trust = toTrustMaterial({ certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] }, { [bundle.verificationMaterial.content.publicKey.hint]: { rawBytes: der } });
new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle));
JS
"$pare_bin" verify-blob "$cases/a.txt" --bundle "$key_bundle" --key "$key_pub" >/dev/null
pk=$(best "$pare_bin" verify-blob "$cases/a.txt" --bundle "$key_bundle" --key "$key_pub")
jk=$(best env NODE_PATH="$target/npm-sigstore/node_modules" node "$work/js1.js" "$key_bundle" "$key_pub")
pl=$(best "$pare_bin" verify-blob "$cases/a.txt" --bundle "$cases/happy-path-v0.3/bundle.sigstore.json" --certificate-identity "$identity" --certificate-oidc-issuer "$issuer")
sl=$(best "$target/venv-sigstore/bin/sigstore" verify identity --offline --bundle "$cases/happy-path-v0.3/bundle.sigstore.json" --cert-identity "$identity" --cert-oidc-issuer "$issuer" "$cases/a.txt")
echo "process, key-based: pare verify-blob $pk ms, node + sigstore-js $jk ms ($(ratio "$pk" "$jk"))"
echo "process, keyless: pare verify-blob $pl ms, sigstore verify identity --offline $sl ms ($(ratio "$pl" "$sl"))"
echo "pare binary: $pare_bin"
