//! `pare build` with `base = "REF@sha256:..."` from a real registry (Debian's docker-registry on
//! 127.0.0.1) and packages from a signed test repository on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pare_test::Pare;

use pare_deb::Paragraph;
use pare_deb::testing::{Compression, FileServer, RepoBuilder, TestKey, build_deb};
use pare_test::registry::TestRegistry;
use pare_test::tools::{fixtures, run_err, run_ok};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn builds_on_a_registry_base_pinned_by_digest() {
    let registry = TestRegistry::start();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let pare = Pare::new(crate::PARE).with_cache(&cache).source_date_epoch("1700000000");

    // The base: a small image pushed to the registry.
    let reference = format!("{}/base/hello:1", registry.host());
    let rootfs = format!("dir:{}", fixtures().join("hello-rootfs").display());
    let base_digest = stdout(&run_ok(pare.cmd().arg("copy").arg(&rootfs).arg(&reference)));

    // A package from a signed repository on 127.0.0.1.
    let key = TestKey::generate(7, "pare base tests <test@example.invalid>").unwrap();
    std::fs::write(tmp.path().join("test.gpg"), key.public_keyring().unwrap()).unwrap();
    let mut control = Paragraph::new();
    for (k, v) in
        [("Package", "tool"), ("Version", "1.0"), ("Architecture", "amd64"), ("Maintainer", "t <t@e.invalid>")]
    {
        control.set(k, v);
    }
    control.set("Description", "a tool for tests");
    let deb = build_deb(&control, &[], &[("usr/bin/tool", b"#!tool\n", 0o755)], Compression::Gzip).unwrap();
    let repo = tmp.path().join("repo");
    let mut builder = RepoBuilder::new(&repo, "stable", "amd64");
    builder.add(&control, &deb).unwrap();
    builder.write(&key).unwrap();
    let server = FileServer::start(&repo).unwrap();

    let definition = |base: &str| {
        let path = tmp.path().join("app.toml");
        std::fs::write(
            &path,
            format!(
                "suite = \"stable\"\nmirror = \"{}\"\npockets = []\nkeyring = \"test.gpg\"\npackages = [\"tool\"]\nbase = \"{base}\"\n",
                server.url()
            ),
        )
        .unwrap();
        path
    };

    // Unpinned: refused, with the fix.
    let def = definition(&reference);
    let err = run_err(pare.cmd().arg("build").arg(&def).arg("--to").arg(format!("oci:{}/x", tmp.path().display())));
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(stderr.contains("`base`") && stderr.contains("pare inspect"), "{stderr}");

    let def = definition(&format!("{reference}@{base_digest}"));
    run_ok(pare.cmd().arg("lock").arg(&def));
    let lock = std::fs::read_to_string(tmp.path().join("app.lock")).unwrap();
    assert!(lock.contains(&format!("base = \"{base_digest}\"")), "{lock}");
    let mut digests = Vec::new();
    for out in ["out1", "out2"] {
        let dst = format!("oci:{}/{out}", tmp.path().display());
        digests.push(stdout(&run_ok(pare.cmd().arg("build").arg(&def).arg("--to").arg(&dst))));
        let greeting = run_ok(pare.cmd().arg("cat").arg(&dst).arg("/usr/bin/greeting"));
        assert_eq!(String::from_utf8_lossy(&greeting.stdout), "Hello, pare.\n");
        let tool = run_ok(pare.cmd().arg("cat").arg(&dst).arg("/usr/bin/tool"));
        assert_eq!(String::from_utf8_lossy(&tool.stdout), "#!tool\n");
    }
    assert_eq!(digests[0], digests[1]);

    let dst = format!("oci:{}/out1", tmp.path().display());
    let report: serde_json::Value =
        serde_json::from_slice(&run_ok(pare.cmd().args(["inspect", "--format", "json"]).arg(&dst)).stdout).unwrap();
    let text = report.to_string();
    assert!(text.contains("org.opencontainers.image.base.digest") && text.contains(&base_digest), "{text}");
    assert!(text.contains(&reference), "{text}");
}
