//! `pare policy init` and `pare policy check`: every check with a passing and a failing case, over
//! real images: the scan fixture's old Debian packages and the hello rootfs (hermetic), images
//! signed and attested with real keys in layouts and in the real local registry (Debian's
//! docker-registry), an image built on a registry base whose tag then moves, and (live) the
//! gallery's static image and a full Debian made by mmdebstrap. Messages are checked word for word.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use pare_test::Pare;
use pare_test::registry::TestRegistry;
use pare_test::tools::{fixtures, require, run_ok};
use serde_json::Value;

const EPOCH: i64 = 1_700_000_000;
const DAY: i64 = 86_400;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One vulnerability database for this module, from the tracker's DSA and DLA lists.
fn db() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("policy-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("vuln.db");
        let lists = manifest_dir().join("../vuln/tests/fixtures/vulndata/debian-tracker-lists-merged");
        run_ok(
            Pare::new(crate::PARE)
                .cmd()
                .args(["-q", "db", "update", "--db"])
                .arg(&path)
                .arg("--from")
                .arg(lists.join("DSA-list"))
                .arg("--from")
                .arg(lists.join("DLA-list")),
        );
        path
    })
}

struct Fixture {
    pare: Pare,
    tmp: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        Fixture { pare: Pare::new(crate::PARE).source_date_epoch(&EPOCH.to_string()), tmp }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn policy(&self, text: &str) -> PathBuf {
        let path = self.path("policy.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `pare policy check SRC --policy POLICY --db DB ARGS…` at time `now` (seconds).
    fn check_at(&self, now: i64, src: &str, policy: &Path, args: &[&str]) -> Output {
        let mut cmd = self.pare.cmd();
        cmd.env("SOURCE_DATE_EPOCH", now.to_string()).args(["policy", "check", src, "--policy"]).arg(policy);
        cmd.arg("--db").arg(db()).args(args).output().unwrap()
    }

    fn check(&self, src: &str, policy: &Path, args: &[&str]) -> Output {
        self.check_at(EPOCH, src, policy, args)
    }

    /// The scan fixture (old Debian packages) as an OCI layout.
    fn old_packages(&self) -> String {
        let dst = format!("oci:{}:old", self.path("old").display());
        let src = format!("dir:{}", manifest_dir().join("tests/fixtures/scan/rootfs").display());
        run_ok(self.pare.cmd().args(["copy", &src, &dst]));
        dst
    }

    /// The hello rootfs as an OCI layout (`name` makes several).
    fn hello(&self, name: &str) -> String {
        let dst = format!("oci:{}:{name}", self.path(name).display());
        let src = format!("dir:{}", fixtures().join("hello-rootfs").display());
        run_ok(self.pare.cmd().args(["copy", &src, &dst]));
        dst
    }

    /// A P-256 key pair made by openssl: (private, public).
    fn key(&self, name: &str) -> (PathBuf, PathBuf) {
        let openssl = require("openssl");
        let key = self.path(&format!("{name}.key"));
        let public = self.path(&format!("{name}.pub"));
        run_ok(
            Command::new(&openssl)
                .args(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"])
                .arg(&key),
        );
        run_ok(Command::new(&openssl).args(["pkey", "-pubout", "-in"]).arg(&key).arg("-out").arg(&public));
        (key, public)
    }
}

/// The digest `pare inspect` gives for an image.
fn digest_of(pare: &Pare, src: &str) -> String {
    let out = run_ok(pare.cmd().args(["inspect", "--format", "json", src]));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["digest"]
        .as_str()
        .or_else(|| report["manifest_digest"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no digest in {report}"))
}

#[test]
fn init_prints_a_starter_policy_that_parses_and_refuses_to_overwrite() {
    let f = Fixture::new();
    let out = run_ok(f.pare.cmd().args(["policy", "init"]));
    let text = stdout(&out);
    assert!(text.contains("check = \"forbidden-contents\"") && text.contains("fail_on = \"critical\""), "{text}");
    let path = f.path("p.toml");
    run_ok(f.pare.cmd().args(["policy", "init", "-o"]).arg(&path));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    let again = f.pare.cmd().args(["policy", "init", "-o"]).arg(&path).output().unwrap();
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(stderr(&again).contains(&format!("{} exists", path.display())), "{}", stderr(&again));
    // The starter over the hello image (a shell-less busybox-free rootfs, no user): exactly the
    // rules it breaks, in order.
    let src = f.hello("hello");
    let out = f.check(&src, &path, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let digest = digest_of(&f.pare, &src);
    assert_eq!(
        stdout(&out),
        format!(
            "DENY non-root: {src}: the image runs as root: its configuration names no user; fix: set a non-root user: \
             pare build's default user (uid 65532), or USER 65532 in a Dockerfile\n\
             DENY digest-pinned: {src}: `{src}` is named by tag, not by digest; fix: name it by digest: …@{digest}\n"
        )
    );
    assert!(stderr(&out).contains("policy `starter` (sha256:"), "{}", stderr(&out));
    assert!(stderr(&out).contains("FAILED, 2 denied, 0 warned, 3 passed"), "{}", stderr(&out));
}

#[test]
fn bad_policies_name_file_line_column_and_fix() {
    let f = Fixture::new();
    let src = f.hello("hello");
    let cases = [
        (
            "[[rule]]\nid = \"a\"\ncheck = \"non-root-user\"\ncolour = \"red\"\n",
            "policy.toml:4:1: unknown field `colour`",
        ),
        (
            "[[rule]]\nid = \"a\"\ncheck = \"vulnerabilities\"\nfail_on = \"severe\"\n",
            "policy.toml:4:11: unknown severity `severe`",
        ),
        ("[[rule]]\nid = \"a\"\ncheck = \"signature\"\nkeys = [\"missing.pub\"]\n", "policy.toml:4:9: cannot read"),
        (
            "[[rule]]\nid = \"a\"\ncheck = \"digest-pinned\"\nmax_days = 3\n",
            "policy.toml:4:12: `max_days` does not apply to check `digest-pinned`",
        ),
        ("[[rule]\n", "policy.toml:1:"),
    ];
    for (text, expected) in cases {
        let policy = f.policy(text);
        let out = f.check(&src, &policy, &[]);
        assert_eq!(out.status.code(), Some(2), "{text}: {}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{text}: expected `{expected}` in {}", stderr(&out));
        assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
    }
}

/// Failures of a vulnerability rule are the findings `pare scan` reports over the same gate.
#[test]
fn vulnerability_rule_agrees_with_scan_and_takes_vex_and_exceptions() {
    let f = Fixture::new();
    let src = f.old_packages();
    let scan = run_ok(f.pare.cmd().args(["scan", &src, "--format", "json", "--only-fixed", "--db"]).arg(db()));
    let report: Value = serde_json::from_slice(&scan.stdout).unwrap();
    let expected: Vec<String> =
        report["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_string()).collect();
    assert!(expected.len() > 10, "{expected:?}");
    let rule = "[[rule]]\nid = \"cves\"\ncheck = \"vulnerabilities\"\nfail_on = \"critical\"\nonly_fixable = true\n";
    let out = f.check(&src, &f.policy(rule), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{}", stdout(&out));
    assert!(
        lines.contains(&format!(
            "DENY cves: {src}: CVE-2026-41989 of unknown severity in libgcrypt20 1.10.1-3, fixed in 1.10.1-3+deb12u1; \
             fix: rebuild with libgcrypt20 1.10.1-3+deb12u1 or later, or add a VEX statement if it is not exploitable"
        ).as_str()),
        "{}",
        stdout(&out)
    );
    // The tracker's lists give no severity: allow_unknown lets them through.
    let out = f.check(&src, &f.policy(&format!("{rule}allow_unknown = true\n")), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out), "");

    // VEX: a not_affected statement removes that finding.
    let vex = f.path("vex.json");
    run_ok(
        f.pare
            .cmd()
            .args(["vex", "--vulnerability", "CVE-2026-41989", "--product", "pkg:deb/debian/libgcrypt20"])
            .args(["--status", "not_affected", "--impact-statement", "no untrusted input reaches it", "--file"])
            .arg(&vex),
    );
    let out = f.check(&src, &f.policy(rule), &["--vex", vex.to_str().unwrap()]);
    assert_eq!(stdout(&out).lines().count(), expected.len() - 1);
    assert!(!stdout(&out).contains("CVE-2026-41989"));

    // An exception for one finding: a warning until it expires, then a failure of its own.
    let exception = |expires: &str| {
        format!(
            "{rule}[[exception]]\nrule = \"cves\"\nfindings = [\"CVE-2026-41989\"]\nowner = \"alice@example.com\"\n\
             reason = \"gcrypt is not used for untrusted input\"\nexpires = {expires}\n"
        )
    };
    let out = f.check(&src, &f.policy(&exception("2099-12-31")), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(&format!(
            "WARN cves: {src}: CVE-2026-41989 of unknown severity in libgcrypt20 1.10.1-3, fixed in 1.10.1-3+deb12u1 \
         (excepted until 2099-12-31 by alice@example.com: gcrypt is not used for untrusted input); fix:"
        )),
        "{}",
        stdout(&out)
    );
    assert_eq!(stdout(&out).lines().filter(|l| l.starts_with("DENY")).count(), expected.len() - 1);
    let out = f.check(&src, &f.policy(&exception("2023-01-01")), &[]);
    assert!(stdout(&out).contains(&format!(
        "DENY cves: {src}: the exception for rule `cves` (owner alice@example.com, gcrypt is not used for untrusted input) \
         expired on 2023-01-01; fix: fix what it excepted, or renew it with a new expiry date and a reason\n"
    )), "{}", stdout(&out));
    assert!(stdout(&out).contains("DENY cves: ") && !stdout(&out).contains("WARN"), "{}", stdout(&out));

    // Scoped to another namespace or image: not evaluated.
    let scoped = format!("{rule}scope = {{ namespaces = [\"prod-*\"], images = [\"registry.example.com/*\"] }}\n");
    let out = f.check(&src, &f.policy(&scoped), &["--namespace", "prod-eu"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn json_and_sarif_reports() {
    let f = Fixture::new();
    let src = f.old_packages();
    let policy = f.policy(
        "[policy]\nname = \"ci\"\n[[rule]]\nid = \"cves\"\ncheck = \"vulnerabilities\"\nonly_fixable = true\n\
         [[rule]]\nid = \"user\"\ncheck = \"non-root-user\"\naction = \"warn\"\n",
    );
    let out = f.check(&src, &policy, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["result"], "FAILED");
    assert_eq!(doc["policy"]["name"], "ci");
    let failures = doc["verdict"]["failures"].as_array().unwrap();
    let warn = failures.iter().find(|f| f["rule"] == "user").unwrap();
    assert_eq!(warn["action"], "warn");
    assert_eq!(warn["message"], "the image runs as root: its configuration names no user");
    let sarif = f.path("out.sarif");
    let out = f.check(&src, &policy, &["--format", "sarif", "-o", sarif.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let python = pare_test::tools::venv_tool("venv-cdx", "python");
    let schema = manifest_dir().join("tests/fixtures/sarif/sarif-schema-2.1.0.json");
    let check = Command::new(&python)
        .arg("-c")
        .arg("import json,sys,jsonschema\ns=json.load(open(sys.argv[1])); d=json.load(open(sys.argv[2]))\njsonschema.Draft7Validator(s).validate(d)")
        .arg(&schema)
        .arg(&sarif)
        .output()
        .unwrap();
    assert!(check.status.success(), "SARIF schema rejects pare's SARIF: {}", String::from_utf8_lossy(&check.stderr));
    let doc: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), failures.len());
    assert_eq!(results.iter().filter(|r| r["level"] == "warning").count(), 1);
    let rules: Vec<&str> = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["cves", "user"]);
}

#[test]
fn signature_attestation_and_allowed_base_rules_with_keys() {
    let f = Fixture::new();
    let (key_a, pub_a) = f.key("a");
    let (_, pub_b) = f.key("b");
    let src = f.hello("hello");
    let digest = digest_of(&f.pare, &src);
    let policy = |public: &Path| {
        f.policy(&format!(
            "[[rule]]\nid = \"signed\"\ncheck = \"signature\"\nkeys = [\"{}\"]\n\
             [[rule]]\nid = \"sbom\"\ncheck = \"attestations\"\nrequire = [\"spdx\"]\nkeys = [\"{}\"]\n",
            public.display(),
            public.display()
        ))
    };
    let out = f.check(&src, &policy(&pub_a), &[]);
    assert_eq!(
        stdout(&out),
        format!(
            "DENY signed: {src}: no signature verifies: the image is not signed; fix: sign it: pare sign {src} --key KEY\n\
             DENY sbom: {src}: no https://spdx.dev/Document attestation verifies: the image is not signed; fix: attest it: \
             pare attest {src} --key KEY --type https://spdx.dev/Document --predicate FILE\n"
        )
    );
    let mut sign = f.pare.cmd();
    sign.env("COSIGN_PASSWORD", "").args(["sign", &src, "--key"]).arg(&key_a);
    run_ok(&mut sign);
    let sbom = f.path("sbom.spdx.json");
    run_ok(f.pare.cmd().args(["sbom", &src, "--format", "spdx-json", "-o"]).arg(&sbom));
    let mut attest = f.pare.cmd();
    attest
        .env("COSIGN_PASSWORD", "")
        .args(["attest", &src, "--type", "spdx", "--key"])
        .arg(&key_a)
        .arg("--predicate")
        .arg(&sbom);
    run_ok(&mut attest);
    let out = f.check(&src, &policy(&pub_a), &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("PASSED, 0 denied, 0 warned, 2 passed"), "{}", stderr(&out));
    // Another key: refused, saying why.
    let out = f.check(&src, &policy(&pub_b), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!(
            "DENY signed: {src}: no signature verifies: key {}: bundle sha256:",
            pub_b.display()
        )),
        "{text}"
    );
    assert!(text.contains("signed by another key"), "{text}");

    // Allowed bases: the golden catalog names this image itself; another digest does not allow it.
    let base = |digests: &str| {
        f.policy(&format!("[[rule]]\nid = \"golden\"\ncheck = \"allowed-base\"\ndigests = [{digests}]\n"))
    };
    let out = f.check(&src, &base(&format!("\"{digest}\"")), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let other = format!("sha256:{}", "a".repeat(64));
    let out = f.check(&src, &base(&format!("\"{other}\"")), &[]);
    assert_eq!(
        stdout(&out),
        format!(
            "DENY golden: {src}: it names no base (org.opencontainers.image.base.digest is not set), so it cannot be shown \
             to use an allowed one; fix: rebuild it on one of the allowed bases (pare build records the base in its annotations)\n"
        )
    );

    // The verdict as a signed verification summary, attached and verifiable.
    let mut vsa = f.pare.cmd();
    vsa.env("SOURCE_DATE_EPOCH", EPOCH.to_string()).env("COSIGN_PASSWORD", "");
    vsa.args(["policy", "check", &src, "--policy"]).arg(policy(&pub_a)).arg("--attest").arg("--key").arg(&key_a);
    let out = vsa.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("Attached the verification summary (PASSED) as bundle"), "{}", stderr(&out));
    let out = run_ok(
        f.pare
            .cmd()
            .args([
                "verify-attestation",
                &src,
                "--type",
                "https://slsa.dev/verification_summary/v1",
                "--format",
                "json",
                "--key",
            ])
            .arg(&pub_a),
    );
    let text = stdout(&out);
    let policy_digest = format!("sha256:{}", sha256_hex(&std::fs::read(f.path("policy.toml")).unwrap()));
    assert!(text.contains("\"dev.pare.policy.digest\"") && text.contains(&policy_digest), "{text}");
    assert!(text.contains("\"dev.pare.verification.result\": \"PASSED\""), "{text}");

    // The same in the real local registry (docker-registry: cosign's tag fallback), by digest.
    let registry = TestRegistry::start();
    let tagged = format!("{}/app/hello:1", registry.host());
    let pushed = stdout(&run_ok(f.pare.cmd().args(["copy", &f.hello("fresh"), &tagged]))).trim().to_string();
    let pinned = format!("{}/app/hello@{pushed}", registry.host());
    let rules = f.policy(&format!(
        "[[rule]]\nid = \"signed\"\ncheck = \"signature\"\nkeys = [\"{}\"]\n[[rule]]\nid = \"pinned\"\ncheck = \"digest-pinned\"\n",
        pub_a.display()
    ));
    let out = f.check(&tagged, &rules, &[]);
    assert_eq!(
        stdout(&out),
        format!(
            "DENY signed: {tagged}: no signature verifies: the image is not signed; fix: sign it: pare sign {tagged} --key KEY\n\
             DENY pinned: {tagged}: `{tagged}` is named by tag, not by digest; fix: name it by digest: …@{pushed}\n"
        )
    );
    run_ok(f.pare.cmd().args(["sign", &tagged, "--key"]).arg(&key_a));
    let out = f.check(&pinned, &rules, &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("PASSED, 0 denied, 0 warned, 2 passed"), "{}", stderr(&out));
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A signed repository on 127.0.0.1 with one package, `tool`, holding `files`; its key in
/// `test.gpg` beside the definitions.
fn repo_with(f: &Fixture, files: &[(&str, &[u8], u32)]) -> pare_deb::testing::FileServer {
    use pare_deb::Paragraph;
    use pare_deb::testing::{Compression, FileServer, RepoBuilder, TestKey, build_deb};
    let key = TestKey::generate(7, "pare policy tests <test@example.invalid>").unwrap();
    std::fs::write(f.path("test.gpg"), key.public_keyring().unwrap()).unwrap();
    let mut control = Paragraph::new();
    for (k, v) in [
        ("Package", "tool"),
        ("Version", "1.0"),
        ("Architecture", "amd64"),
        ("Maintainer", "t <t@e.invalid>"),
        ("Description", "a tool"),
    ] {
        control.set(k, v);
    }
    let deb = build_deb(&control, &[], files, Compression::Gzip).unwrap();
    let mut builder = RepoBuilder::new(&f.path("repo"), "stable", "amd64");
    builder.add(&control, &deb).unwrap();
    builder.write(&key).unwrap();
    FileServer::start(&f.path("repo")).unwrap()
}

/// `pare build --policy`: a deny stops the build before anything is written; rules about the
/// published image are named, not silently passed.
#[test]
fn build_with_a_policy_refuses_an_image_that_fails_it() {
    let f = Fixture::new();
    let server = repo_with(&f, &[("usr/bin/tool", b"#!tool\n", 0o755), ("usr/bin/sh", b"#!fake shell\n", 0o755)]);
    let definition = f.path("app.toml");
    std::fs::write(
        &definition,
        format!(
            "suite = \"stable\"\nmirror = \"{}\"\npockets = []\nkeyring = \"test.gpg\"\npackages = [\"tool\"]\n",
            server.url()
        ),
    )
    .unwrap();
    let (_, public) = f.key("a");
    let policy = f.policy(&format!(
        "[[rule]]\nid = \"no-shell\"\ncheck = \"forbidden-contents\"\nforbid = [\"shell\"]\n\
         [[rule]]\nid = \"non-root\"\ncheck = \"non-root-user\"\n\
         [[rule]]\nid = \"signed\"\ncheck = \"signature\"\nkeys = [\"{}\"]\n",
        public.display()
    ));
    let out_dir = f.path("out");
    let dst = format!("oci:{}:app", out_dir.display());
    let out =
        f.pare.cmd().arg("build").arg(&definition).args(["--to", &dst, "--policy"]).arg(&policy).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("policy rules not checked at build time (they are about the published image): signed;"),
        "{err}"
    );
    assert!(
        err.contains(&format!("the built image does not pass the policy {}; nothing was written:\nDENY no-shell: {dst} (linux/amd64): a shell in the image: /usr/bin/sh; fix: build on a gallery image without a shell", policy.display())),
        "{err}"
    );
    assert!(!out_dir.exists(), "nothing is written when the policy denies");
    // Without the shell rule the same build passes and writes the image.
    let policy = f.policy("[[rule]]\nid = \"non-root\"\ncheck = \"non-root-user\"\n");
    let out =
        f.pare.cmd().arg("build").arg(&definition).args(["--to", &dst, "--policy"]).arg(&policy).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("PASSED, 0 denied, 0 warned, 1 passed"), "{}", stderr(&out));
    assert!(out_dir.join("index.json").exists());
}

#[test]
fn age_and_base_staleness_over_a_registry_base_whose_tag_moves() {
    let registry = TestRegistry::start();
    let f = Fixture::new();
    // The base, pushed at EPOCH.
    let base_ref = format!("{}/base/hello:1", registry.host());
    let rootfs = format!("dir:{}", fixtures().join("hello-rootfs").display());
    let base_digest = stdout(&run_ok(f.pare.cmd().args(["copy", &rootfs, &base_ref]))).trim().to_string();
    // An app built on it from a signed repository on 127.0.0.1.
    let server = repo_with(&f, &[("usr/bin/tool", b"#!tool\n", 0o755)]);
    let definition = f.path("app.toml");
    std::fs::write(
        &definition,
        format!(
            "suite = \"stable\"\nmirror = \"{}\"\npockets = []\nkeyring = \"test.gpg\"\npackages = [\"tool\"]\nbase = \"{base_ref}@{base_digest}\"\n",
            server.url()
        ),
    )
    .unwrap();
    let app = format!("oci:{}:app", f.path("app").display());
    run_ok(f.pare.cmd().arg("build").arg(&definition).arg("--to").arg(&app));

    let age = f.policy("[[rule]]\nid = \"fresh\"\ncheck = \"max-age\"\nmax_days = 30\n");
    let out = f.check_at(EPOCH + 10 * DAY, &app, &age, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = f.check_at(EPOCH + 45 * DAY, &app, &age, &[]);
    assert_eq!(
        stdout(&out),
        format!(
            "DENY fresh: {app}: the image is 45 days old (created 2023-11-14T22:13:20Z), more than 30; \
             fix: rebuild it: pare build picks up the archive's current packages\n"
        )
    );

    let stale = f.policy("[[rule]]\nid = \"base-fresh\"\ncheck = \"base-staleness\"\nmax_days = 30\n");
    // The tag has not moved: fresh whatever the date.
    let out = f.check_at(EPOCH + 400 * DAY, &app, &stale, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // A newer base is pushed to the tag (created 5 days after the first).
    std::fs::write(f.path("extra"), "newer\n").unwrap();
    let newer_root = f.path("newer-rootfs");
    run_ok(Command::new("cp").arg("-a").arg(fixtures().join("hello-rootfs")).arg(&newer_root));
    std::fs::write(newer_root.join("newer"), "newer\n").unwrap();
    let mut push = f.pare.cmd();
    push.env("SOURCE_DATE_EPOCH", (EPOCH + 5 * DAY).to_string()).args([
        "copy",
        &format!("dir:{}", newer_root.display()),
        &base_ref,
    ]);
    let newer_digest = stdout(&run_ok(&mut push)).trim().to_string();
    assert_ne!(newer_digest, base_digest);
    let out = f.check_at(EPOCH + 20 * DAY, &app, &stale, &[]);
    assert_eq!(out.status.code(), Some(0), "15 days is within 30: {}", stdout(&out));
    let out = f.check_at(EPOCH + 45 * DAY, &app, &stale, &[]);
    assert_eq!(
        stdout(&out),
        format!(
            "DENY base-fresh: {app}: base {base_ref} has a newer digest {newer_digest} (created 2023-11-19T22:13:20Z, \
             40 days ago, more than 30); the image uses {base_digest}; fix: rebuild on {base_ref}@{newer_digest}\n"
        )
    );
    // The registry gone: the rule cannot tell, and says so (fail closed).
    drop(registry);
    let out = f.check_at(EPOCH + 45 * DAY, &app, &stale, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with(&format!("DENY base-fresh: {app}: cannot tell whether base {base_ref} is stale: ")),
        "{}",
        stdout(&out)
    );
}

/// The live part: the gallery's static image passes the starter policy when named by digest in a
/// registry; a full Debian (mmdebstrap minbase) fails it for its shell, package manager and root user.
#[test]
fn starter_policy_over_the_static_gallery_image_and_a_full_debian() {
    if !pare_test::tools::debian_archive_available() {
        return;
    }
    let registry = TestRegistry::start();
    let f = Fixture::new();
    let pare = Pare::new(crate::PARE).with_cache(crate::live_cache()).source_date_epoch(&EPOCH.to_string());
    let layout = format!("oci:{}:static", f.path("static").display());
    run_ok(pare.cmd().args(["build", "gallery:static", "--arch", "amd64", "--to", &layout]));
    let reference = format!("{}/gallery/static:1", registry.host());
    let digest = stdout(&run_ok(pare.cmd().args(["copy", &layout, &reference]))).trim().to_string();
    let starter = f.path("starter.toml");
    std::fs::write(&starter, stdout(&run_ok(pare.cmd().args(["policy", "init"])))).unwrap();
    let pinned = format!("{}/gallery/static@{digest}", registry.host());
    let out = f.check(&pinned, &starter, &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("PASSED, 0 denied, 0 warned, 5 passed"), "{}", stderr(&out));

    // A full Debian, as most Dockerfiles start.
    let mmdebstrap = require("mmdebstrap");
    let rootfs = f.path("debian");
    run_ok(
        Command::new(mmdebstrap)
            .args(["--variant=minbase", "--mode=root", "--quiet", "bookworm"])
            .arg(&rootfs)
            .arg("http://deb.debian.org/debian"),
    );
    let full = format!("{}/full/debian:bookworm", registry.host());
    let full_digest =
        stdout(&run_ok(pare.cmd().args(["copy", &format!("dir:{}", rootfs.display()), &full]))).trim().to_string();
    let full_pinned = format!("{}/full/debian@{full_digest}", registry.host());
    let every = f.policy(
        "[[rule]]\nid = \"contents\"\ncheck = \"forbidden-contents\"\n\
         forbid = [\"shell\", \"package-manager\", \"compiler\", \"downloader\", \"setuid\", \"world-writable\"]\n\
         [[rule]]\nid = \"non-root\"\ncheck = \"non-root-user\"\n[[rule]]\nid = \"loads\"\ncheck = \"binaries-load\"\n",
    );
    let out = f.check(&full_pinned, &every, &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let line = |prefix: &str| {
        text.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no `{prefix}` in {text}")).to_string()
    };
    let shells = line(&format!("DENY contents: {full_pinned}: a shell in the image: "));
    assert!(shells.contains("/usr/bin/bash") && shells.contains("/usr/bin/dash"), "{shells}");
    let managers = line(&format!("DENY contents: {full_pinned}: a package manager in the image: "));
    assert!(managers.contains("/usr/bin/apt") && managers.contains("/usr/bin/dpkg"), "{managers}");
    line(&format!("DENY contents: {full_pinned}: setuid/setgid files in the image: /usr/bin/chage (2755), "));
    // Every setuid/setgid file, as find(1) sees them in the tree mmdebstrap made.
    let find =
        run_ok(Command::new("find").arg(&rootfs).args(["-type", "f", "-perm", "/6000", "-printf", "/%P (%m)\\n"]));
    let mut expected: Vec<String> = stdout(&find).lines().map(str::to_string).collect();
    expected.sort();
    let json = f.check(&full_pinned, &every, &["--format", "json"]);
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    let setuid = doc["verdict"]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["message"].as_str().unwrap().starts_with("setuid"))
        .unwrap();
    let mut found: Vec<String> =
        setuid["evidence"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_string()).collect();
    found.sort();
    assert!(expected.iter().any(|e| e == "/usr/bin/su (4755)"), "{expected:?}");
    assert_eq!(found, expected);
    assert!(!text.contains("compiler in the image") && !text.contains("downloader in the image"), "{text}");
    assert!(
        text.contains(&format!(
            "DENY non-root: {full_pinned}: the image runs as root: its configuration names no user; fix:"
        )),
        "{text}"
    );
    assert!(!text.contains("DENY loads"), "every binary of a full Debian loads: {text}");
    // And the same rules pass on the static image.
    let out = f.check(&pinned, &every, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// `pare evidence` gathers one digest's signatures, attestations, SBOM, scan and verdict;
/// `pare verify-evidence` re-checks it offline and names what was changed.
#[test]
fn evidence_bundle_is_complete_and_verifiable_offline() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let f = Fixture::new();
    let (key, public) = f.key("a");
    let (_, other) = f.key("b");
    let src = f.old_packages();
    let digest = digest_of(&f.pare, &src);
    run_ok(f.pare.cmd().args(["sign", &src, "--key"]).arg(&key));
    let sbom = f.path("sbom.spdx.json");
    run_ok(f.pare.cmd().args(["sbom", &src, "--format", "spdx-json", "-o"]).arg(&sbom));
    run_ok(f.pare.cmd().args(["attest", &src, "--type", "spdx", "--key"]).arg(&key).arg("--predicate").arg(&sbom));
    let policy = f.policy("[[rule]]\nid = \"cves\"\ncheck = \"vulnerabilities\"\nonly_fixable = true\n");
    let evidence = f.path("evidence.json");
    let out = run_ok(
        f.pare
            .cmd()
            .args(["evidence", &src, "-o"])
            .arg(&evidence)
            .arg("--key")
            .arg(&public)
            .arg("--policy")
            .arg(&policy)
            .arg("--db")
            .arg(db()),
    );
    assert_eq!(stdout(&out).trim(), digest);
    let doc: Value = serde_json::from_slice(&std::fs::read(&evidence).unwrap()).unwrap();
    assert_eq!(doc["subject"]["digest"], digest.as_str());
    // Two bundles (signature, SBOM attestation) as referrers, cosign's .sig and .att tags.
    assert_eq!(doc["referrers"].as_array().unwrap().len(), 2, "{}", doc["referrers"]);
    let tags: Vec<&str> = doc["tags"].as_array().unwrap().iter().map(|t| t["tag"].as_str().unwrap()).collect();
    let hex = digest.trim_start_matches("sha256:");
    assert_eq!(tags, [format!("sha256-{hex}.sig"), format!("sha256-{hex}.att")]);
    assert_eq!(doc["verification"]["signatures"]["verified"].as_array().unwrap().len(), 2);
    assert_eq!(
        doc["verification"]["attestations"]["https://spdx.dev/Document"]["verified"].as_array().unwrap().len(),
        2
    );
    // The SBOM and the scan are the ones `pare sbom` and `pare scan` make.
    let spdx: Value = serde_json::from_slice(&std::fs::read(&sbom).unwrap()).unwrap();
    assert_eq!(doc["sbom"]["packages"].as_array().unwrap().len(), spdx["packages"].as_array().unwrap().len());
    let scan = run_ok(f.pare.cmd().args(["scan", &src, "--format", "json", "--db"]).arg(db()));
    let scan: Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert_eq!(doc["scan"]["findings"], scan["findings"]);
    let denied = doc["verdict"]["failures"].as_array().unwrap().len();
    assert_eq!(
        denied,
        scan["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| !f["fixed_versions"].as_array().unwrap().is_empty())
            .count()
    );
    assert!(doc["policy"]["text"].as_str().unwrap().contains("id = \"cves\""));

    let verify =
        |file: &Path, key: &Path| f.pare.cmd().arg("verify-evidence").arg(file).arg("--key").arg(key).output().unwrap();
    let out = verify(&evidence, &public);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        stdout(&out),
        "10 blobs match their digests\nverified: referrers[0].layers[0]\nverified: referrers[1].layers[0]\n"
    );
    // Another key: the bundles do not verify.
    let out = verify(&evidence, &other);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("PROBLEM: referrers[0].layers[0]: the bundle does not verify: "), "{}", stdout(&out));
    // The configuration changed to run as root, its digest recomputed: the manifest no longer names it.
    let mut changed = doc.clone();
    let config = b64.decode(changed["config"]["base64"].as_str().unwrap()).unwrap();
    let config = String::from_utf8(config).unwrap().replacen("\"created\"", "\"comment\":\"x\",\"created\"", 1);
    let new_digest = format!("sha256:{}", sha256_hex(config.as_bytes()));
    changed["config"]["base64"] = Value::from(b64.encode(&config));
    changed["config"]["digest"] = Value::from(new_digest.clone());
    let tampered = f.path("tampered.json");
    std::fs::write(&tampered, serde_json::to_vec(&changed).unwrap()).unwrap();
    let out = verify(&tampered, &public);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(&format!(
            "PROBLEM: config: the image manifest names \"{}\", the document holds \"{new_digest}\"",
            doc["config"]["digest"].as_str().unwrap()
        )),
        "{}",
        stdout(&out)
    );
    // A blob's bytes changed without its digest.
    let mut changed = doc.clone();
    changed["referrers"][0]["layers"][0]["base64"] = Value::from(b64.encode(b"{}"));
    std::fs::write(&tampered, serde_json::to_vec(&changed).unwrap()).unwrap();
    let out = verify(&tampered, &public);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("PROBLEM: referrers[0].layers[0]: content is sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a, recorded"), "{}", stdout(&out));
    // Not an evidence file: exit 2, naming it.
    let out = verify(&sbom, &public);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("malformed evidence document: `_type` is not"), "{}", stderr(&out));
}

/// `binaries-load` fails for a program whose loader the image lacks (a C program compiled here, in
/// a rootfs with no libc) and passes without it; `allowed-base` with `pare_built` accepts an image
/// `pare build --sign` made (its SLSA provenance verifies) and refuses it with another key.
#[test]
fn binaries_load_and_pare_built_bases() {
    let f = Fixture::new();
    let rootfs = f.path("rootfs");
    run_ok(Command::new("cp").arg("-a").arg(fixtures().join("hello-rootfs")).arg(&rootfs));
    std::fs::create_dir_all(rootfs.join("app")).unwrap();
    std::fs::write(f.path("hello.c"), "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n").unwrap();
    run_ok(Command::new(require("gcc")).arg(f.path("hello.c")).arg("-o").arg(rootfs.join("app/hello")));
    let src = format!("oci:{}:c", f.path("c").display());
    run_ok(f.pare.cmd().args(["copy", &format!("dir:{}", rootfs.display()), &src]));
    let loads = f.policy("[[rule]]\nid = \"loads\"\ncheck = \"binaries-load\"\n");
    let out = f.check(&src, &loads, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "DENY loads: {src}: /app/hello would not load: its interpreter /lib64/ld-linux-x86-64.so.2 is not in the image; \
             fix: gallery:base (glibc) or a later gallery image provides the loader\n"
        )
    );
    let out = f.check(&f.hello("plain"), &loads, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // pare build --sign: SBOM and provenance attested with key a.
    let server = repo_with(&f, &[("usr/bin/tool", b"#!tool\n", 0o755)]);
    let definition = f.path("app.toml");
    std::fs::write(
        &definition,
        format!(
            "suite = \"stable\"\nmirror = \"{}\"\npockets = []\nkeyring = \"test.gpg\"\npackages = [\"tool\"]\n",
            server.url()
        ),
    )
    .unwrap();
    let (key, public) = f.key("a");
    let (_, other) = f.key("b");
    let app = format!("oci:{}:app", f.path("app").display());
    run_ok(f.pare.cmd().arg("build").arg(&definition).args(["--to", &app, "--sign", "--key"]).arg(&key));
    let built = |public: &Path| {
        f.policy(&format!(
            "[[rule]]\nid = \"golden\"\ncheck = \"allowed-base\"\npare_built = true\nkeys = [\"{}\"]\n",
            public.display()
        ))
    };
    let out = f.check(&app, &built(&public), &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let out = f.check(&app, &built(&other), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with(&format!("DENY golden: {app}: it names no base and has no verified pare provenance; fix: build it with `pare build --sign --key KEY` on an allowed base\n")),
        "{}",
        stdout(&out)
    );
}
