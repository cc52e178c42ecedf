//! `pare pull`, `push`, `copy` and reads straight from a real registry (Debian's docker-registry).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pare_test::Pare;
use std::process::Command;

use pare_test::registry::{Fault, FaultAction, FaultProxy, TestRegistry};
use pare_test::tools::{fixtures, require, run_err, run_ok};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn push_pull_and_read_through_the_registry() {
    let skopeo = require("skopeo");
    let registry = TestRegistry::start();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let pare = Pare::new(crate::PARE).with_cache(&cache);
    let layout = format!("oci:{}:hello", tmp.path().join("layout").display());
    let digest = stdout(&run_ok(
        pare.cmd().arg("copy").arg(format!("dir:{}", fixtures().join("hello-rootfs").display())).arg(&layout),
    ));
    let reference = format!("{}/team/hello:1.0", registry.host());

    assert_eq!(stdout(&run_ok(pare.cmd().arg("push").arg(&layout).arg(&reference))), digest);
    let raw = run_ok(
        Command::new(&skopeo).args(["inspect", "--raw", "--tls-verify=false"]).arg(format!("docker://{reference}")),
    );
    assert_eq!(pare_oci::sha256(&raw.stdout).to_string(), digest);

    for dst in ["oci:{}/pulled:x", "oci-archive:{}/pulled.tar", "docker-archive:{}/pulled-docker.tar:hello:1"] {
        let dst = dst.replace("{}", &tmp.path().display().to_string());
        run_ok(pare.cmd().arg("pull").arg(&reference).arg("--to").arg(&dst));
        let cat = run_ok(pare.cmd().arg("cat").arg(&dst).arg("/usr/bin/greeting"));
        assert_eq!(String::from_utf8_lossy(&cat.stdout), "Hello, pare.\n");
    }
    // Reads straight from the registry.
    let report: serde_json::Value =
        serde_json::from_slice(&run_ok(pare.cmd().args(["inspect", "--format", "json"]).arg(&reference)).stdout)
            .unwrap();
    assert_eq!(report["digest"], digest.as_str());
    let ls = stdout(&run_ok(pare.cmd().arg("ls").arg(&reference).arg("/etc")));
    assert!(ls.contains("/etc/os-release"), "{ls}");

    // Registry to registry, and a tag that does not exist.
    let other = format!("{}/other/hello:2", registry.host());
    assert_eq!(stdout(&run_ok(pare.cmd().arg("copy").arg(&reference).arg(&other))), digest);
    let err = run_err(pare.cmd().arg("inspect").arg(format!("{}/team/hello:missing", registry.host())));
    assert_eq!(err.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&err.stderr).contains("missing"), "{}", String::from_utf8_lossy(&err.stderr));
}

/// A pull into a layout writes each layer once: the layout's blob is a hard link to the verified
/// blob-cache entry. A damaged cache entry is not linked: it is found bad, downloaded again, and the
/// layout gets good content.
#[test]
fn pulled_layers_are_linked_from_the_blob_cache() {
    use std::os::unix::fs::MetadataExt;
    let registry = TestRegistry::start();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let pare = Pare::new(crate::PARE).with_cache(&cache);
    let src = format!("oci:{}:hello", tmp.path().join("src").display());
    run_ok(pare.cmd().arg("copy").arg(format!("dir:{}", fixtures().join("hello-rootfs").display())).arg(&src));
    let reference = format!("{}/team/linked:1", registry.host());
    run_ok(pare.cmd().arg("push").arg(&src).arg(&reference));

    let pull = |name: &str| -> std::path::PathBuf {
        let dir = tmp.path().join(name);
        run_ok(pare.cmd().arg("pull").arg(&reference).arg("--to").arg(format!("oci:{}:x", dir.display())));
        dir
    };
    let first = pull("first");
    let layers: serde_json::Value = serde_json::from_slice(
        &run_ok(pare.cmd().args(["inspect", "--format", "json"]).arg(format!("oci:{}:x", first.display()))).stdout,
    )
    .unwrap();
    let layer = layers["images"][0]["layers"][0]["digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    let in_layout = first.join("blobs/sha256").join(&layer);
    let in_cache = cache.join("blobs-v1/sha256").join(&layer);
    let (a, b) = (std::fs::metadata(&in_layout).unwrap(), std::fs::metadata(&in_cache).unwrap());
    assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()), "the layer is written once, linked into the layout");

    // A second pull into another layout links the cached blob again.
    let second = pull("second");
    assert_eq!(std::fs::metadata(second.join("blobs/sha256").join(&layer)).unwrap().ino(), b.ino());

    // A damaged cache entry (a new file with one byte changed) is not linked.
    let mut bytes = std::fs::read(&in_cache).unwrap();
    bytes[10] ^= 0xff;
    std::fs::remove_file(&in_cache).unwrap();
    std::fs::write(&in_cache, &bytes).unwrap();
    let third = pull("third");
    let blob = std::fs::read(third.join("blobs/sha256").join(&layer)).unwrap();
    assert_eq!(pare_oci::sha256(&blob).digest(), layer, "the layout got the good content");
    assert_eq!(pare_oci::sha256(&std::fs::read(&in_cache).unwrap()).digest(), layer, "the cache was repaired");
    let cat = run_ok(pare.cmd().arg("cat").arg(format!("oci:{}:x", third.display())).arg("/usr/bin/greeting"));
    assert_eq!(String::from_utf8_lossy(&cat.stdout), "Hello, pare.\n");
}

#[test]
fn basic_auth_with_registry_auth_file() {
    let registry = TestRegistry::start_with_basic_auth("alice", "s3cret");
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let pare = Pare::new(crate::PARE).with_cache(&cache);
    let layout = format!("oci:{}:hello", tmp.path().join("layout").display());
    run_ok(pare.cmd().arg("copy").arg(format!("dir:{}", fixtures().join("hello-rootfs").display())).arg(&layout));
    let reference = format!("{}/private/hello:1", registry.host());

    let err = run_err(pare.cmd().arg("push").arg(&layout).arg(&reference));
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert_eq!(err.status.code(), Some(2));
    assert!(stderr.to_lowercase().contains("auth"), "{stderr}");

    let auth = tmp.path().join("auth.json");
    let token = base64_encode("alice:s3cret");
    std::fs::write(&auth, format!(r#"{{"auths":{{"{}":{{"auth":"{token}"}}}}}}"#, registry.host())).unwrap();
    run_ok(pare.cmd().env("REGISTRY_AUTH_FILE", &auth).arg("push").arg(&layout).arg(&reference));
    run_ok(
        pare.cmd()
            .env("REGISTRY_AUTH_FILE", &auth)
            .arg("pull")
            .arg(&reference)
            .arg("--to")
            .arg(format!("oci:{}:p", tmp.path().join("p").display())),
    );

    let wrong = tmp.path().join("wrong.json");
    std::fs::write(
        &wrong,
        format!(r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#, registry.host(), base64_encode("alice:nope")),
    )
    .unwrap();
    let err = run_err(pare.cmd().env("REGISTRY_AUTH_FILE", &wrong).arg("inspect").arg(&reference));
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(!stderr.contains("nope"), "the password leaked into the error: {stderr}");
}

fn base64_encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A registry link that drips one byte every 100 ms: with PARE_REGISTRY_STALL_TIMEOUT=1 the pull
/// gives up after its resumes, exits 2 and says why; `--help` documents the setting.
#[test]
fn stalled_pull_fails_with_exit_2() {
    let registry = TestRegistry::start();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let pare = Pare::new(crate::PARE).with_cache(&cache);
    let src = format!("oci:{}:hello", tmp.path().join("src").display());
    run_ok(pare.cmd().arg("copy").arg(format!("dir:{}", fixtures().join("hello-rootfs").display())).arg(&src));
    run_ok(pare.cmd().arg("push").arg(&src).arg(format!("{}/team/slow:1", registry.host())));

    let drip = Fault::new("GET", "/blobs/sha256:", 1000, FaultAction::Drip(std::time::Duration::from_millis(100)));
    let proxy = FaultProxy::start(registry.addr(), vec![drip]);
    let dst = tmp.path().join("dst");
    let cold = Pare::new(crate::PARE);
    let err = run_err(
        cold.cmd()
            .env("PARE_REGISTRY_STALL_TIMEOUT", "1")
            .arg("pull")
            .arg(format!("{}/team/slow:1", proxy.host()))
            .arg("--to")
            .arg(format!("oci:{}:x", dst.display())),
    );
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert_eq!(err.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("stalled") && stderr.contains("PARE_REGISTRY_STALL_TIMEOUT"), "{stderr}");
    assert!(!dst.join("index.json").exists());

    let help = String::from_utf8_lossy(&run_ok(pare.cmd().arg("--help")).stdout).into_owned();
    assert!(help.contains("--stall-timeout") && help.contains("PARE_REGISTRY_STALL_TIMEOUT"), "{help}");
}

/// The blob cache keeps unfinished downloads in `blobs-v1/tmp/`: a pull removes those a killed run
/// left there over an hour ago (and only those: the cache's entries are not listed for it), and
/// leaves younger ones.
#[test]
fn stale_blob_cache_downloads_are_removed() {
    let registry = TestRegistry::start();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let pare = Pare::new(crate::PARE).with_cache(&cache);
    let reference = format!("{}/team/hello:1.0", registry.host());
    run_ok(pare.cmd().arg("copy").arg(format!("dir:{}", fixtures().join("hello-rootfs").display())).arg(&reference));
    let tmp_dir = cache.join("blobs-v1/tmp");
    std::fs::create_dir_all(&tmp_dir).unwrap();
    let (old, young) = (tmp_dir.join(".tmp-Ab12Cd"), tmp_dir.join(".tmp-Ef34Gh"));
    for (path, age) in [(&old, "2 hours ago"), (&young, "10 minutes ago")] {
        std::fs::write(path, "half a blob").unwrap();
        assert!(Command::new("touch").arg("-d").arg(age).arg(path).status().unwrap().success());
    }
    run_ok(pare.cmd().arg("pull").arg(&reference).arg("--to").arg(format!("oci:{}", tmp.path().join("l").display())));
    assert!(!old.exists() && young.exists());
    // The pulled blobs are entries of the cache, not left in its temporary directory.
    let entries = std::fs::read_dir(cache.join("blobs-v1/sha256")).unwrap().count();
    assert!(entries >= 2, "{entries} cache entries (the layer and the config)");
    assert_eq!(std::fs::read_dir(&tmp_dir).unwrap().count(), 1);
}
