//! Containers simple signing (OpenPGP) against Debian's real skopeo: what `skopeo copy --sign-by`
//! writes, `pare verify --gpg-keyring` accepts (and refuses with another key); what `pare sign
//! --gpg-key` writes, skopeo's `policy.json` `signedBy` rule accepts (and refuses with another key).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use pare_test::Pare;
use pare_test::registry::TestRegistry;
use pare_test::tools::{fixtures, require, run_err, run_ok};

/// A GnuPG home with two signing keys, A and B, and each one's public keyring exported.
struct GpgKeys {
    home: PathBuf,
    a: String,
    a_keyring: PathBuf,
    b_keyring: PathBuf,
}

impl GpgKeys {
    fn new(dir: &Path) -> GpgKeys {
        let gpg = require("gpg");
        let home = dir.join("gnupg");
        std::fs::create_dir_all(&home).unwrap();
        let mut fingerprints = Vec::new();
        for name in ["Signer A <a@example.invalid>", "Signer B <b@example.invalid>"] {
            run_ok(Command::new(&gpg).env("GNUPGHOME", &home).args([
                "--batch",
                "--passphrase",
                "",
                "--quick-gen-key",
                name,
                "ed25519",
                "sign",
                "never",
            ]));
            let out = run_ok(Command::new(&gpg).env("GNUPGHOME", &home).args([
                "--batch",
                "--with-colons",
                "--list-secret-keys",
                name,
            ]));
            let listing = String::from_utf8_lossy(&out.stdout).to_string();
            let fpr = listing
                .lines()
                .find_map(|l| l.strip_prefix("fpr:").map(|r| r.trim_matches(':').to_string()))
                .expect("a fingerprint");
            fingerprints.push(fpr);
        }
        let export = |fpr: &str, file: &str| {
            let out = run_ok(Command::new(&gpg).env("GNUPGHOME", &home).args(["--batch", "--export", fpr]));
            let path = dir.join(file);
            std::fs::write(&path, out.stdout).unwrap();
            path
        };
        let a_keyring = export(&fingerprints[0], "a.gpg");
        let b_keyring = export(&fingerprints[1], "b.gpg");
        GpgKeys { home, a: fingerprints[0].clone(), a_keyring, b_keyring }
    }
}

/// A registries.d directory whose `lookaside` for `host` is `sigstore`.
fn registries_d(dir: &Path, host: &str, sigstore: &Path) -> PathBuf {
    let d = dir.join("registries.d");
    std::fs::create_dir_all(&d).unwrap();
    let url = format!("file://{}", sigstore.display());
    std::fs::write(
        d.join("test.yaml"),
        format!("docker:\n  {host}:\n    lookaside: {url}\n    lookaside-staging: {url}\n"),
    )
    .unwrap();
    d
}

fn policy(dir: &Path, host: &str, keyring: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let policy = serde_json::json!({
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {host: [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": keyring}]},
            "oci": {"": [{"type": "insecureAcceptAnything"}]},
        }
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&policy).unwrap()).unwrap();
    path
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn skopeo_signatures_verify_and_pare_signatures_pass_skopeo_policy() {
    let skopeo = require("skopeo");
    let registry = TestRegistry::start();
    let tmp = tempfile::tempdir().unwrap();
    let pare = Pare::new(crate::PARE);
    let keys = GpgKeys::new(tmp.path());
    let host = registry.host();
    let layout = format!("oci:{}:hello", tmp.path().join("layout").display());
    run_ok(pare.cmd().arg("copy").arg(format!("dir:{}", fixtures().join("hello-rootfs").display())).arg(&layout));

    // skopeo signs while pushing; pare verifies with A's keyring, not with B's.
    let sigstore = tmp.path().join("sigstore-skopeo");
    let regd = registries_d(&tmp.path().join("skopeo-conf"), &host, &sigstore);
    let by_skopeo = format!("{host}/skopeo/hello:1.0");
    run_ok(
        Command::new(&skopeo)
            .env("GNUPGHOME", &keys.home)
            .arg("--registries.d")
            .arg(&regd)
            .args(["copy", "--dest-tls-verify=false", "--sign-by", &keys.a, &layout])
            .arg(format!("docker://{by_skopeo}")),
    );
    assert!(std::fs::read_dir(&sigstore).is_ok_and(|mut d| d.next().is_some()), "skopeo wrote no signature");
    let verify = |image: &str, keyring: &Path, dir: &Path| {
        let mut cmd = pare.cmd();
        cmd.args(["verify", image, "--gpg-keyring"]).arg(keyring).arg("--sigstore-dir").arg(dir);
        cmd
    };
    let ok = run_ok(&mut verify(&by_skopeo, &keys.a_keyring, &sigstore));
    let shown = text(&ok);
    assert!(shown.contains("simple-signing") && shown.contains(&keys.a), "{shown}");
    let json = run_ok(verify(&by_skopeo, &keys.a_keyring, &sigstore).args(["--format", "json"]));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["verified"][0]["signers"][0]["fingerprint"], keys.a.as_str());
    assert_eq!(report["verified"][0]["docker_reference"], by_skopeo.as_str());
    let refused = run_err(&mut verify(&by_skopeo, &keys.b_keyring, &sigstore));
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("no signature by a key in"), "{}", text(&refused));
    // The same image under another tag: the signature claims another identity.
    let other_tag = format!("{host}/skopeo/hello:2.0");
    run_ok(pare.cmd().args(["copy", &by_skopeo, &other_tag]));
    let refused = run_err(&mut verify(&other_tag, &keys.a_keyring, &sigstore));
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).contains("claims the identity"), "{}", text(&refused));
    // Nothing signed at all.
    let refused = run_err(&mut verify(&by_skopeo, &keys.a_keyring, &tmp.path().join("empty")));
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).contains("no signature in"), "{}", text(&refused));

    // pare signs; skopeo's signedBy policy accepts with A's keyring and refuses with B's.
    let by_pare = format!("{host}/pare/hello:1.0");
    run_ok(pare.cmd().args(["copy", &layout, &by_pare]));
    let sigstore = tmp.path().join("sigstore-pare");
    let signed = run_ok(
        pare.cmd()
            .env("GNUPGHOME", &keys.home)
            .args(["sign", &by_pare, "--gpg-key", &keys.a, "--sigstore-dir"])
            .arg(&sigstore),
    );
    assert!(text(&signed).contains("signature-1"), "{}", text(&signed));
    run_ok(&mut verify(&by_pare, &keys.a_keyring, &sigstore));
    let regd = registries_d(&tmp.path().join("pare-conf"), &host, &sigstore);
    let pull = |policy: &Path, dst: &str| {
        let mut cmd = Command::new(&skopeo);
        cmd.arg("--policy")
            .arg(policy)
            .arg("--registries.d")
            .arg(&regd)
            .args(["copy", "--remove-signatures", "--src-tls-verify=false"])
            .arg(format!("docker://{by_pare}"))
            .arg(format!("oci:{}:x", tmp.path().join(dst).display()));
        cmd
    };
    run_ok(&mut pull(&policy(tmp.path(), &host, &keys.a_keyring, "policy-a.json"), "pulled-a"));
    let out = run_err(&mut pull(&policy(tmp.path(), &host, &keys.b_keyring, "policy-b.json"), "pulled-b"));
    let said = text(&out);
    assert!(said.to_lowercase().contains("signature"), "{said}");
}
