//! Bundles pare writes, checked by verifiers pare shares no code with (issue 12): sigstore-js
//! (`@sigstore/verify`) and a verifier written here from the specs (protobuf-specs bundle,
//! DSSE `protocol.md`, in-toto Statement v1) on Python's `cryptography`; and sigstore-python
//! agreeing with pare on keyless bundles. A missing tool fails the test (`scripts/system-deps.sh`).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use pare_sign::{Bundle, Envelope, PAYLOAD_TYPE, SigningKey, Statement};
use pare_test::Pare;
use pare_test::tools::{npm_modules, run_err, run_ok, venv_tool};
use sha2::{Digest, Sha256};

/// sigstore-js, trusting only the given key; no log or timestamp required (pare signs offline).
const SIGSTORE_JS: &str = r#"
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');
const [artifactPath, bundlePath, keyPath] = process.argv.slice(2);
const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
const der = crypto.createPublicKey(fs.readFileSync(keyPath)).export({ type: 'spki', format: 'der' });
const hint = bundle.verificationMaterial.content.publicKey.hint;
const root = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
const trust = toTrustMaterial(root, { [hint]: { rawBytes: der } });
const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
const artifact = fs.readFileSync(artifactPath);
const isDsse = bundle.content.$case === 'dsseEnvelope';
verifier.verify(toSignedEntity(bundle, isDsse ? undefined : artifact));
if (isDsse) {
  // sigstore-js checks the envelope's signature; the statement's subject is the caller's to check.
  const statement = JSON.parse(Buffer.from(bundle.content.dsseEnvelope.payload).toString('utf8'));
  const digest = crypto.createHash('sha256').update(artifact).digest('hex');
  if (!statement.subject.some((s) => s.digest.sha256 === digest)) throw new Error('statement is not about the artifact');
}
console.log('OK');
"#;

/// A key-based bundle verifier written from the specs, on `cryptography`.
const FROM_SPEC_PY: &str = r#"
import base64, hashlib, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

artifact_path, bundle_path, key_path = sys.argv[1:4]
bundle = json.load(open(bundle_path))
# protobuf-specs sigstore_bundle.proto: v0.3 media type, publicKey hint, one content.
assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json", bundle["mediaType"]
key = serialization.load_pem_public_key(open(key_path, "rb").read())
der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
# cosign: the hint is base64(SHA-256(DER SubjectPublicKeyInfo)).
assert bundle["verificationMaterial"]["publicKey"]["hint"] == base64.b64encode(hashlib.sha256(der).digest()).decode()
data = open(artifact_path, "rb").read()

def verify(signature, message):
    if isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(signature, message)
    else:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))  # ASN.1 DER, as cosign

if "messageSignature" in bundle:
    ms = bundle["messageSignature"]
    assert ms["messageDigest"]["algorithm"] == "SHA2_256"
    assert base64.b64decode(ms["messageDigest"]["digest"]) == hashlib.sha256(data).digest(), "digest"
    verify(base64.b64decode(ms["signature"]), data)
else:
    env = bundle["dsseEnvelope"]
    payload = base64.b64decode(env["payload"])
    ptype = env["payloadType"].encode()
    # DSSE protocol.md: PAE = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
    pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(payload), payload)
    verify(base64.b64decode(env["signatures"][0]["sig"]), pae)
    statement = json.loads(payload)
    assert env["payloadType"] == "application/vnd.in-toto+json"
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    digest = hashlib.sha256(data).hexdigest()
    assert any(s["digest"].get("sha256") == digest for s in statement["subject"]), "subject"
print("OK")
"#;

/// Reads a cosign encrypted key as go-securesystemslib `encrypted` does (scrypt from hashlib,
/// secretbox from PyNaCl), then checks it is the private half of the public key file.
const COSIGN_KEY_PY: &str = r#"
import base64, hashlib, json, sys
import nacl.secret
from cryptography.hazmat.primitives import serialization

key_path, pub_path, password = sys.argv[1], sys.argv[2], sys.argv[3].encode()
text = open(key_path).read()
assert text.startswith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), text[:60]
body = "".join(l for l in text.splitlines() if not l.startswith("-----"))
data = json.loads(base64.b64decode(body))
kdf, cipher = data["kdf"], data["cipher"]
assert kdf["name"] == "scrypt" and kdf["params"] == {"N": 65536, "r": 8, "p": 1}, kdf
assert cipher["name"] == "nacl/secretbox"
salt, nonce = base64.b64decode(kdf["salt"]), base64.b64decode(cipher["nonce"])
assert len(salt) == 32 and len(nonce) == 24
key = hashlib.scrypt(password, salt=salt, n=65536, r=8, p=1, dklen=32, maxmem=128 * 1024 * 1024)
der = nacl.secret.SecretBox(key).decrypt(base64.b64decode(data["ciphertext"]), nonce)
private = serialization.load_der_private_key(der, password=None)
public = serialization.load_pem_public_key(open(pub_path, "rb").read())
fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
assert private.public_key().public_bytes(*fmt) == public.public_bytes(*fmt)
print("OK")
"#;

struct Verifiers {
    dir: tempfile::TempDir,
}

impl Verifiers {
    fn new() -> Verifiers {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("verify.js"), SIGSTORE_JS).unwrap();
        std::fs::write(dir.path().join("verify.py"), FROM_SPEC_PY).unwrap();
        Verifiers { dir }
    }

    fn commands(&self, artifact: &Path, bundle: &Path, key: &Path) -> [Command; 2] {
        let mut js = Command::new("node");
        js.env("NODE_PATH", npm_modules("npm-sigstore", "@sigstore/verify"))
            .arg(self.dir.path().join("verify.js"))
            .args([artifact, bundle, key]);
        let mut py = Command::new(venv_tool("venv-sigstore", "python"));
        py.arg(self.dir.path().join("verify.py")).args([artifact, bundle, key]);
        [js, py]
    }

    fn accept(&self, artifact: &Path, bundle: &Path, key: &Path) {
        for mut cmd in self.commands(artifact, bundle, key) {
            let out = run_ok(&mut cmd);
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
        }
    }

    fn refuse(&self, artifact: &Path, bundle: &Path, key: &Path) {
        for mut cmd in self.commands(artifact, bundle, key) {
            run_err(&mut cmd);
        }
    }
}

#[test]
fn verify_blob_interop_pare_sign_blob_bundles_verify_elsewhere() {
    let env = Pare::new(crate::PARE);
    let dir = tempfile::tempdir().unwrap();
    let verifiers = Verifiers::new();
    let pare = || {
        let mut cmd = env.cmd();
        cmd.current_dir(dir.path()).env("PARE_PASSWORD", "pw");
        cmd
    };
    run_ok(pare().args(["key", "generate"]));
    // The key file decrypts with another implementation of cosign's format; a wrong password fails.
    std::fs::write(dir.path().join("cosign_key.py"), COSIGN_KEY_PY).unwrap();
    let python = venv_tool("venv-sigstore", "python");
    let read_key = |password: &str| {
        let mut cmd = Command::new(&python);
        cmd.arg(dir.path().join("cosign_key.py")).arg(dir.path().join("cosign.key")).arg(dir.path().join("cosign.pub"));
        cmd.arg(password);
        cmd
    };
    assert_eq!(String::from_utf8_lossy(&run_ok(&mut read_key("pw")).stdout).trim(), "OK");
    run_err(&mut read_key("wrong"));
    std::fs::write(dir.path().join("app.bin"), b"an artifact\n").unwrap();
    std::fs::write(dir.path().join("other.bin"), b"another artifact\n").unwrap();
    run_ok(pare().args(["sign-blob", "app.bin", "--key", "cosign.key", "--bundle", "app.json"]));
    let p = |name: &str| dir.path().join(name);
    verifiers.accept(&p("app.bin"), &p("app.json"), &p("cosign.pub"));
    verifiers.refuse(&p("other.bin"), &p("app.json"), &p("cosign.pub"));

    // Ed25519 (a PKCS#8 key file; signs the bytes).
    let ed = SigningKey::generate_ed25519();
    let pkcs8 = ed.to_pkcs8_der().unwrap();
    let pem = pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, &pkcs8).unwrap();
    std::fs::write(p("ed.key"), pem).unwrap();
    std::fs::write(p("ed.pub"), ed.public_key().to_pem()).unwrap();
    run_ok(pare().args(["sign-blob", "app.bin", "--key", "ed.key", "--bundle", "ed.json"]));
    run_ok(pare().args(["verify-blob", "app.bin", "--bundle", "ed.json", "--key", "ed.pub"]));
    // sigstore-js 4.1 hashes before an Ed25519 verify (Node refuses a digest name for Ed25519), so
    // only the from-spec verifier checks pure Ed25519 message signatures.
    let [_, mut py] = verifiers.commands(&p("app.bin"), &p("ed.json"), &p("ed.pub"));
    run_ok(&mut py);
    let [_, mut py] = verifiers.commands(&p("other.bin"), &p("ed.json"), &p("ed.pub"));
    run_err(&mut py);
}

#[test]
fn verify_blob_interop_dsse_statement_bundles_verify_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let verifiers = Verifiers::new();
    let p = |name: &str| dir.path().join(name);
    let artifact = b"{\"schemaVersion\":2}".to_vec();
    std::fs::write(p("manifest.json"), &artifact).unwrap();
    let key = SigningKey::generate_p256();
    std::fs::write(p("key.pub"), key.public_key().to_pem()).unwrap();
    let digest: [u8; 32] = Sha256::digest(&artifact).into();
    let statement = Statement::new("registry.example/app", digest, pare_sign::COSIGN_SIGN_PREDICATE_TYPE, None);
    let envelope = Envelope::sign(PAYLOAD_TYPE, statement.to_json(), &key);
    std::fs::write(p("bundle.json"), Bundle::from_dsse_with_key(envelope.clone(), &key.public_key()).to_json())
        .unwrap();
    verifiers.accept(&p("manifest.json"), &p("bundle.json"), &p("key.pub"));
    // pare agrees, through the CLI.
    let env = Pare::new(crate::PARE);
    run_ok(
        env.cmd()
            .arg("verify-blob")
            .arg(p("manifest.json"))
            .arg("--bundle")
            .arg(p("bundle.json"))
            .arg("--key")
            .arg(p("key.pub")),
    );

    // A tampered statement (another subject, same signature) is refused by all three.
    let mut tampered = envelope;
    tampered.payload = Statement::new("x", [0; 32], pare_sign::COSIGN_SIGN_PREDICATE_TYPE, None).to_json();
    std::fs::write(p("tampered.json"), Bundle::from_dsse_with_key(tampered, &key.public_key()).to_json()).unwrap();
    verifiers.refuse(&p("manifest.json"), &p("tampered.json"), &p("key.pub"));
    let out = run_err(
        env.cmd()
            .arg("verify-blob")
            .arg(p("manifest.json"))
            .arg("--bundle")
            .arg(p("tampered.json"))
            .arg("--key")
            .arg(p("key.pub")),
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn verify_blob_interop_sigstore_python_agrees_on_keyless_bundles() {
    let env = Pare::new(crate::PARE);
    let cases = crate::verify_blob::conformance().join("bundle-verify");
    let identity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    let issuer = "https://token.actions.githubusercontent.com";
    for (case, ok) in
        [("happy-path-v0.3", true), ("happy-path-intoto-in-dsse-v3", true), ("signature-mismatch_fail", false)]
    {
        let bundle = cases.join(case).join("bundle.sigstore.json");
        let mut python = Command::new(venv_tool("venv-sigstore", "sigstore"));
        python
            .args([
                "verify",
                "identity",
                "--offline",
                "--cert-identity",
                identity,
                "--cert-oidc-issuer",
                issuer,
                "--bundle",
            ])
            .arg(&bundle)
            .arg(cases.join("a.txt"));
        let mut pare = env.cmd();
        pare.arg("verify-blob").arg(cases.join("a.txt")).arg("--bundle").arg(&bundle).args([
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
        ]);
        if ok {
            run_ok(&mut python);
            run_ok(&mut pare);
        } else {
            run_err(&mut python);
            run_err(&mut pare);
        }
    }
}
