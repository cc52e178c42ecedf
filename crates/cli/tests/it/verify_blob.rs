//! `pare key generate`, `pare sign-blob` and `pare verify-blob` (issue 12): the sigstore-conformance
//! bundle cases, key files, round trips and the refusals, through the binary.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // the conformance test prints its per-case results

use std::path::{Path, PathBuf};
use std::process::Output;

use pare_test::Pare;
use pare_test::tools::{run_err, run_ok};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Cases pare does not get right yet, each with why. Empty: all 70 agree.
const NOT_SUPPORTED_YET: &[(&str, &str)] = &[];

pub(crate) fn conformance() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sign/tests/fixtures/sigstore-conformance")
}

/// Runs `pare verify-blob` on one case as `SOURCE.md` says to read it.
fn verify_case(env: &Pare, dir: &Path) -> Output {
    let cases = dir.parent().unwrap();
    let artifact = if dir.join("artifact").is_file() { dir.join("artifact") } else { cases.join("a.txt") };
    let mut cmd = env.cmd();
    cmd.arg("verify-blob").arg(&artifact).arg("--bundle").arg(dir.join("bundle.sigstore.json"));
    if dir.join("key.pub").is_file() {
        cmd.arg("--key").arg(dir.join("key.pub"));
    } else {
        let read = |name: &str, default: &str| {
            std::fs::read_to_string(dir.join(name)).map_or_else(|_| default.to_owned(), |s| s.trim().to_owned())
        };
        cmd.arg("--certificate-identity").arg(read("identity", DEFAULT_IDENTITY));
        cmd.arg("--certificate-oidc-issuer").arg(read("issuer", DEFAULT_ISSUER));
    }
    let root = if dir.join("trusted_root.json").is_file() {
        dir.join("trusted_root.json")
    } else {
        conformance().join("trusted_root.production.json")
    };
    cmd.arg("--trusted-root").arg(root);
    cmd.output().unwrap()
}

#[test]
fn verify_blob_conformance_every_case() {
    let env = Pare::new(crate::PARE);
    let cases = conformance().join("bundle-verify");
    let mut names: Vec<String> = std::fs::read_dir(&cases)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 70, "the suite has 70 cases: {names:?}");
    let (mut agree, mut disagree) = (0, Vec::new());
    for name in &names {
        let out = verify_case(&env, &cases.join(name));
        let code = out.status.code().unwrap_or(-1);
        let should_fail = name.ends_with("_fail");
        let ok = if should_fail { code != 0 } else { code == 0 };
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why = stderr.lines().next().unwrap_or("");
        println!("{} {name} (exit {code}) {why}", if ok { "ok  " } else { "FAIL" });
        if ok {
            agree += 1;
        } else if !NOT_SUPPORTED_YET.iter().any(|(n, _)| n == name) {
            disagree.push(format!("{name}: exit {code}: {stderr}"));
        }
        // A refusal is a verdict (1) or bad input (2), never a crash.
        assert!(matches!(code, 0..=2), "{name}: exit {code}: {stderr}");
    }
    println!("{agree} of {} cases agree", names.len());
    assert!(disagree.is_empty(), "cases that disagree:\n{}", disagree.join("\n"));
    for (name, _) in NOT_SUPPORTED_YET {
        assert!(names.contains(&(*name).to_owned()), "allow-list names an unknown case {name}");
    }
}

#[test]
fn verify_blob_reasons_are_precise_and_exit_1() {
    let env = Pare::new(crate::PARE);
    let cases = conformance().join("bundle-verify");
    for (case, reason) in [
        ("signature-mismatch_fail", "signature does not match"),
        ("bundle-unknown-version_fail", "Unknown bundle media type"),
        ("bundle-malformed-json_fail", "Malformed bundle"),
        ("checkpoint-bad-keyhint_fail", "checkpoint"),
        ("inclusion-proof-corrupted-hash_fail", "inclusion proof"),
        ("set-invalid-signature_fail", "signed entry timestamp"),
        ("message-digest-mismatch_fail", "another artifact"),
        ("managed-key-no-key_fail", "hint: verify a key-based bundle with --key PUB"),
    ] {
        let out = verify_case(&env, &cases.join(case));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
        assert!(stderr.contains(reason), "{case}: expected `{reason}` in: {stderr}");
    }
    // Keyless with another identity: both are named.
    let out = env
        .cmd()
        .arg("verify-blob")
        .arg(cases.join("a.txt"))
        .arg("--bundle")
        .arg(cases.join("happy-path-v0.3/bundle.sigstore.json"))
        .args(["--certificate-identity", "https://github.com/other/repo/.github/workflows/x.yml@refs/heads/main"])
        .args(["--certificate-oidc-issuer", DEFAULT_ISSUER, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verified"], false);
    assert_eq!(report["code"], "certificate-identity-mismatch");
    assert!(report["reason"].as_str().unwrap().contains("other/repo"), "{report}");
}

#[test]
fn verify_blob_keyless_uses_the_embedded_public_good_root() {
    let env = Pare::new(crate::PARE);
    let cases = conformance().join("bundle-verify");
    let out = run_ok(
        env.cmd()
            .arg("verify-blob")
            .arg(cases.join("a.txt"))
            .arg("--bundle")
            .arg(cases.join("happy-path-v0.3/bundle.sigstore.json"))
            .args(["--certificate-identity", DEFAULT_IDENTITY, "--certificate-oidc-issuer", DEFAULT_ISSUER])
            .args(["--format", "json"]),
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verified"], true);
    assert_eq!(report["signer"]["identity"], DEFAULT_IDENTITY);
    assert_eq!(report["transparencyLog"]["logIndex"], 79_571_823);
}

#[test]
fn verify_blob_key_generate_sign_verify_round_trip_and_refusals() {
    let env = Pare::new(crate::PARE);
    let dir = tempfile::tempdir().unwrap();
    let pare = || {
        let mut cmd = env.cmd();
        cmd.current_dir(dir.path()).env_remove("COSIGN_PASSWORD").env_remove("PARE_PASSWORD");
        cmd
    };
    // No variable and no terminal: a clear error, nothing written.
    let out = run_err(pare().args(["key", "generate"]).stdin(std::process::Stdio::null()));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PARE_PASSWORD"));
    assert!(!dir.path().join("cosign.key").exists());

    run_ok(pare().args(["key", "generate", "--output-key-prefix", "release"]).env("PARE_PASSWORD", "s3cret"));
    let key = dir.path().join("release.key");
    let mode = |p: &Path| std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions()) & 0o777;
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&dir.path().join("release.pub")), 0o644);
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"), "{pem}");
    // No overwrite without --force; COSIGN_PASSWORD is read too.
    let out = run_err(pare().args(["key", "generate", "--output-key-prefix", "release"]).env("COSIGN_PASSWORD", "x"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), pem);

    std::fs::write(dir.path().join("app.bin"), b"the artifact").unwrap();
    run_ok(
        pare()
            .args(["sign-blob", "app.bin", "--key", "release.key", "--bundle", "app.sigstore.json"])
            .env("COSIGN_PASSWORD", "s3cret"),
    );
    let out = run_ok(pare().args(["verify-blob", "app.bin", "--bundle", "app.sigstore.json", "--key", "release.pub"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Verified OK"));

    // Wrong password.
    let out = run_err(
        pare().args(["sign-blob", "app.bin", "--key", "release.key", "--bundle", "x.json"]).env("PARE_PASSWORD", "no"),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Wrong password"), "{out:?}");
    // Another file, another key, a tampered bundle: exit 1 with the reason.
    std::fs::write(dir.path().join("other.bin"), b"another artifact").unwrap();
    let out =
        run_err(pare().args(["verify-blob", "other.bin", "--bundle", "app.sigstore.json", "--key", "release.pub"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another artifact"));
    run_ok(pare().args(["key", "generate", "--output-key-prefix", "other"]).env("PARE_PASSWORD", "x"));
    let out = run_err(pare().args(["verify-blob", "app.bin", "--bundle", "app.sigstore.json", "--key", "other.pub"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Not signed by the given key"));
    let mut bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("app.sigstore.json")).unwrap()).unwrap();
    bundle["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.9+json".into();
    std::fs::write(dir.path().join("unknown.json"), bundle.to_string()).unwrap();
    let out = run_err(pare().args(["verify-blob", "app.bin", "--bundle", "unknown.json", "--key", "release.pub"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unknown bundle media type"));
    // Usage and I/O problems are 2.
    let out =
        run_err(pare().args(["verify-blob", "missing.bin", "--bundle", "app.sigstore.json", "--key", "release.pub"]));
    assert_eq!(out.status.code(), Some(2));
}
