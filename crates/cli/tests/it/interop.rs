//! The `pare` binary against real clients: skopeo and umoci read what pare writes, pare reads what
//! they write, and pare's unpack equals umoci's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pare_test::Pare;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use pare_oci::{
    Assembler, Compression, ImageSpec, LayerEntry, LayerOptions, LayoutSink, Platform, Quiet, RuntimeConfig,
};
use pare_test::tools::{fixtures, require, run_err, run_ok, tree};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A two-layer image whose upper layer deletes a file, hides a directory (opaque) and replaces a
/// file, with a hard link, a symlink, a setuid file and a long path: what unpackers get wrong.
fn layered_spec_entries() -> (Vec<LayerEntry>, Vec<LayerEntry>) {
    let long = format!("usr/share/{}/deep.txt", "long-directory-name-".repeat(7));
    let lower = vec![
        LayerEntry::dir("etc", 0o755),
        LayerEntry::file("etc/os-release", 0o644, "ID=pare\n"),
        LayerEntry::file("etc/removed", 0o644, "gone in layer 2\n"),
        LayerEntry::dir("opaque", 0o755),
        LayerEntry::file("opaque/old", 0o644, "hidden by the opaque whiteout\n"),
        LayerEntry::dir("usr", 0o755),
        LayerEntry::dir("usr/bin", 0o755),
        LayerEntry::file("usr/bin/tool", 0o4755, "#!/bin/true\n"),
        LayerEntry::hardlink("usr/bin/tool-link", "usr/bin/tool"),
        LayerEntry::symlink("usr/bin/sh", "/bin/false"),
        LayerEntry::dir("usr/share", 0o755),
        LayerEntry::dir(&format!("usr/share/{}", "long-directory-name-".repeat(7)), 0o755),
        LayerEntry::file(&long, 0o600, "long path").owned_by(65532, 65532, "nonroot", "nonroot"),
        LayerEntry::dir("home", 0o755),
        LayerEntry::dir("home/nonroot", 0o700).owned_by(65532, 65532, "nonroot", "nonroot"),
    ];
    let upper = vec![
        LayerEntry::dir("etc", 0o755),
        LayerEntry::file("etc/.wh.removed", 0o644, ""),
        LayerEntry::file("etc/os-release", 0o644, "ID=pare\nVERSION_ID=2\n"),
        LayerEntry::dir("opaque", 0o755),
        LayerEntry::file("opaque/.wh..wh..opq", 0o644, ""),
        LayerEntry::file("opaque/new", 0o644, "new\n"),
        LayerEntry::dir("tmp", 0o1777),
    ];
    (lower, upper)
}

/// Writes a layout at `dir` with the layered image named `name` (gzip lower, uncompressed upper).
fn write_layered(dir: &Path, name: &str) -> String {
    let (lower, upper) = layered_spec_entries();
    let mut asm = Assembler::new().unwrap();
    let l1 = asm
        .add_layer(lower, &LayerOptions { mtime: 1_700_000_000, compression: Compression::Gzip, level: None })
        .unwrap();
    let l2 = asm
        .add_layer(upper, &LayerOptions { mtime: 1_700_000_000, compression: Compression::None, level: None })
        .unwrap();
    let spec = ImageSpec {
        platform: Platform::host(),
        runtime: RuntimeConfig {
            user: Some("65532:65532".into()),
            env: vec!["PATH=/usr/bin".into(), "LANG=C.UTF-8".into()],
            entrypoint: Some(vec!["/usr/bin/tool".into()]),
            cmd: Some(vec!["--help".into()]),
            working_dir: Some("/home/nonroot".into()),
            labels: BTreeMap::from([("org.opencontainers.image.title".into(), "layered".into())]),
            stop_signal: None,
        },
        created: 1_700_000_000,
        annotations: BTreeMap::new(),
    };
    let desc = asm.add_image(&spec, &[l1, l2]).unwrap();
    let source = asm.finish(&desc).unwrap();
    let root = source.open().unwrap();
    let sink = LayoutSink::create(dir, Some(name)).unwrap();
    pare_oci::copy(&root, Box::new(sink), &pare_oci::PlatformChoice::All, &Quiet).unwrap().digest().to_string()
}

/// A layout with a two-platform index named `name`.
fn write_multi_platform(dir: &Path, name: &str) -> String {
    let mut asm = Assembler::new().unwrap();
    let mut manifests = Vec::new();
    for (arch, compression) in [("amd64", Compression::Gzip), ("arm64", Compression::Zstd)] {
        let layer = asm
            .add_layer(
                vec![LayerEntry::file("arch", 0o644, arch), LayerEntry::dir("etc", 0o755)],
                &LayerOptions { mtime: 0, compression, level: None },
            )
            .unwrap();
        let spec = ImageSpec {
            platform: Platform::new("linux", arch, (arch == "arm64").then_some("v8")),
            runtime: RuntimeConfig::default(),
            created: 0,
            annotations: BTreeMap::new(),
        };
        manifests.push(asm.add_image(&spec, &[layer]).unwrap());
    }
    let index = asm.add_index(&manifests, &BTreeMap::new()).unwrap();
    let source = asm.finish(&index).unwrap();
    let root = source.open().unwrap();
    let sink = LayoutSink::create(dir, Some(name)).unwrap();
    pare_oci::copy(&root, Box::new(sink), &pare_oci::PlatformChoice::All, &Quiet).unwrap().digest().to_string()
}

#[test]
fn skopeo_inspects_and_copies_what_pare_writes() {
    let pare = Pare::new(crate::PARE);
    let skopeo = require("skopeo");
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    let out = run_ok(
        pare.cmd()
            .arg("copy")
            .arg(format!("dir:{}", fixtures().join("hello-rootfs").display()))
            .arg(format!("oci:{}:hello", layout.display())),
    );
    let digest = stdout(&out);
    let raw = run_ok(Command::new(&skopeo).args(["inspect", "--raw"]).arg(format!("oci:{}:hello", layout.display())));
    assert_eq!(pare_oci::sha256(&raw.stdout).to_string(), digest, "skopeo sees the manifest pare wrote");
    run_ok(Command::new(&skopeo).arg("inspect").arg(format!("oci:{}:hello", layout.display())));
    let copy = tmp.path().join("copy");
    run_ok(
        Command::new(&skopeo)
            .arg("copy")
            .arg(format!("oci:{}:hello", layout.display()))
            .arg(format!("oci:{}:again", copy.display())),
    );
    let inspected =
        run_ok(pare.cmd().args(["inspect", "--format", "json"]).arg(format!("oci:{}:again", copy.display())));
    let report: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(report["digest"], digest.as_str(), "skopeo's copy keeps the manifest digest");
}

#[test]
fn pare_unpack_equals_umoci_unpack() {
    let pare = Pare::new(crate::PARE);
    let umoci = require("umoci");
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    write_layered(&layout, "layered");
    let ours = tmp.path().join("ours");
    // umoci, as root, keeps setuid bits and makes device nodes.
    run_ok(
        pare.cmd()
            .args(["unpack", "--keep-setid", "--allow-devices"])
            .arg(format!("oci:{}:layered", layout.display()))
            .arg(&ours),
    );
    let bundle = tmp.path().join("bundle");
    run_ok(Command::new(umoci).arg("unpack").arg("--image").arg(format!("{}:layered", layout.display())).arg(&bundle));
    let theirs = tree(&bundle.join("rootfs"));
    let mine = tree(&ours);
    assert_eq!(mine, theirs);
    // And the whiteouts did their work.
    let paths: Vec<&str> = mine.iter().map(|e| e.path.as_str()).collect();
    assert!(
        !paths.contains(&"etc/removed") && !paths.contains(&"opaque/old") && paths.contains(&"opaque/new"),
        "{paths:?}"
    );
}

#[test]
fn docker_archives_round_trip_with_skopeo() {
    let pare = Pare::new(crate::PARE);
    let skopeo = require("skopeo");
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    write_layered(&layout, "layered");
    let src = format!("oci:{}:layered", layout.display());
    let reference = tree_of(&pare, &src, tmp.path(), "reference");

    // pare writes, skopeo reads.
    let ours = tmp.path().join("ours.tar");
    run_ok(pare.cmd().arg("copy").arg(&src).arg(format!("docker-archive:{}:example.com/layered:1.0", ours.display())));
    let inspected = run_ok(Command::new(&skopeo).arg("inspect").arg(format!("docker-archive:{}", ours.display())));
    let info: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(info["Layers"].as_array().map(Vec::len), Some(2));
    let via_skopeo = tmp.path().join("via-skopeo");
    run_ok(
        Command::new(&skopeo)
            .arg("copy")
            .arg(format!("docker-archive:{}", ours.display()))
            .arg(format!("oci:{}:x", via_skopeo.display())),
    );
    assert_eq!(tree_of(&pare, &format!("oci:{}:x", via_skopeo.display()), tmp.path(), "a"), reference);

    // skopeo writes, pare reads.
    let theirs = tmp.path().join("theirs.tar");
    run_ok(
        Command::new(&skopeo)
            .arg("copy")
            .arg(&src)
            .arg(format!("docker-archive:{}:example.com/layered:2.0", theirs.display())),
    );
    let loc = format!("docker-archive:{}", theirs.display());
    let report: serde_json::Value =
        serde_json::from_slice(&run_ok(pare.cmd().args(["inspect", "--format", "json"]).arg(&loc)).stdout).unwrap();
    assert_eq!(report["images"][0]["user"], "65532:65532");
    assert_eq!(tree_of(&pare, &loc, tmp.path(), "b"), reference);
    assert_eq!(tree_of(&pare, &format!("{loc}:example.com/layered:2.0"), tmp.path(), "c"), reference);
    let err = run_err(pare.cmd().arg("inspect").arg(format!("{loc}:example.com/other:1")));
    assert!(
        String::from_utf8_lossy(&err.stderr).contains("example.com/layered"),
        "the error lists what the archive holds"
    );
}

#[test]
fn oci_archives_both_ways_keep_digests() {
    let pare = Pare::new(crate::PARE);
    let skopeo = require("skopeo");
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    let digest = write_layered(&layout, "layered");
    let src = format!("oci:{}:layered", layout.display());
    let ours = tmp.path().join("ours.tar");
    run_ok(pare.cmd().arg("copy").arg(&src).arg(format!("oci-archive:{}:layered", ours.display())));
    let raw =
        run_ok(Command::new(&skopeo).args(["inspect", "--raw"]).arg(format!("oci-archive:{}:layered", ours.display())));
    assert_eq!(pare_oci::sha256(&raw.stdout).to_string(), digest);
    let theirs = tmp.path().join("theirs.tar");
    run_ok(Command::new(&skopeo).arg("copy").arg(&src).arg(format!("oci-archive:{}:s", theirs.display())));
    // skopeo compresses the uncompressed layer on the way, so its manifest differs from ours:
    // pare must keep skopeo's manifest byte for byte and unpack the same tree.
    let raw =
        run_ok(Command::new(&skopeo).args(["inspect", "--raw"]).arg(format!("oci-archive:{}:s", theirs.display())));
    let back = tmp.path().join("back");
    let out = run_ok(
        pare.cmd()
            .arg("copy")
            .arg(format!("oci-archive:{}:s", theirs.display()))
            .arg(format!("oci:{}:b", back.display())),
    );
    assert_eq!(stdout(&out), pare_oci::sha256(&raw.stdout).to_string());
    assert_eq!(
        tree_of(&pare, &format!("oci:{}:b", back.display()), tmp.path(), "b"),
        tree_of(&pare, &src, tmp.path(), "src")
    );
}

#[test]
fn multi_platform_index_survives_every_transport() {
    let pare = Pare::new(crate::PARE);
    let skopeo = require("skopeo");
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    let digest = write_multi_platform(&layout, "multi");
    let src = format!("oci:{}:multi", layout.display());
    let archive = tmp.path().join("multi.tar");
    assert_eq!(
        stdout(&run_ok(pare.cmd().arg("copy").arg(&src).arg(format!("oci-archive:{}:m", archive.display())))),
        digest
    );
    let back = tmp.path().join("back");
    let again = format!("oci:{}:m", back.display());
    assert_eq!(
        stdout(&run_ok(pare.cmd().arg("copy").arg(format!("oci-archive:{}:m", archive.display())).arg(&again))),
        digest
    );
    let raw = run_ok(Command::new(&skopeo).args(["inspect", "--raw"]).arg(&again));
    let index: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(index["manifests"].as_array().map(Vec::len), Some(2));

    let report: serde_json::Value = serde_json::from_slice(
        &run_ok(pare.cmd().args(["inspect", "--format", "json", "--all-platforms"]).arg(&again)).stdout,
    )
    .unwrap();
    assert_eq!(report["platforms"], serde_json::json!(["linux/amd64", "linux/arm64/v8"]));
    assert_eq!(report["images"].as_array().map(Vec::len), Some(2));
    assert_eq!(report["images"][1]["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd");
    for (platform, content) in [("linux/amd64", "amd64"), ("linux/arm64", "arm64")] {
        let out = run_ok(pare.cmd().args(["cat", "--platform", platform]).arg(&again).arg("/arch"));
        assert_eq!(String::from_utf8_lossy(&out.stdout), content);
    }
    let err = run_err(pare.cmd().args(["inspect", "--platform", "linux/s390x"]).arg(&again));
    assert_eq!(err.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&err.stderr).contains("linux/amd64, linux/arm64/v8"));

    // A docker archive holds one image: the chosen platform's.
    let docker = tmp.path().join("arm.tar");
    run_ok(
        pare.cmd()
            .args(["copy", "--platform", "linux/arm64"])
            .arg(&again)
            .arg(format!("docker-archive:{}:arm:1", docker.display())),
    );
    run_ok(Command::new(&skopeo).arg("inspect").arg(format!("docker-archive:{}", docker.display())));
    let out = run_ok(pare.cmd().arg("cat").arg(format!("docker-archive:{}", docker.display())).arg("/arch"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "arm64");
}

#[test]
fn images_from_directories_are_reproducible() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let src = format!("dir:{}", fixtures().join("hello-rootfs").display());
    let digest_at = |epoch: &str, name: &str| {
        stdout(&run_ok(
            pare.cmd()
                .env("SOURCE_DATE_EPOCH", epoch)
                .arg("copy")
                .arg(&src)
                .arg(format!("oci:{}:{name}", tmp.path().join(name).display())),
        ))
    };
    let a = digest_at("1700000000", "a");
    let b = digest_at("1700000000", "b");
    let c = digest_at("1700000001", "c");
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn inspect_ls_and_cat_show_the_image() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    let digest = write_layered(&layout, "layered");
    let src = format!("oci:{}:layered", layout.display());
    let report: serde_json::Value =
        serde_json::from_slice(&run_ok(pare.cmd().args(["inspect", "--format", "json"]).arg(&src)).stdout).unwrap();
    let image = &report["images"][0];
    assert_eq!(report["digest"], digest.as_str());
    assert_eq!(image["user"], "65532:65532");
    assert_eq!(image["entrypoint"], serde_json::json!(["/usr/bin/tool"]));
    assert_eq!(image["env"], serde_json::json!(["PATH=/usr/bin", "LANG=C.UTF-8"]));
    assert_eq!(image["labels"]["org.opencontainers.image.title"], "layered");
    assert_eq!(image["created"], "2023-11-14T22:13:20Z");
    assert_eq!(image["layers"].as_array().map(Vec::len), Some(2));
    assert_eq!(image["history"].as_array().map(Vec::len), Some(2));
    let table = stdout(&run_ok(pare.cmd().arg("inspect").arg(&src)));
    assert!(table.contains("65532:65532") && table.contains("Layers (2,"), "{table}");

    let cat = run_ok(pare.cmd().arg("cat").arg(&src).arg("/etc/os-release"));
    assert_eq!(String::from_utf8_lossy(&cat.stdout), "ID=pare\nVERSION_ID=2\n");
    let err = run_err(pare.cmd().arg("cat").arg(&src).arg("/etc/removed"));
    assert_eq!(err.status.code(), Some(2));

    let listing: serde_json::Value =
        serde_json::from_slice(&run_ok(pare.cmd().args(["ls", "--format", "json"]).arg(&src).arg("/opaque")).stdout)
            .unwrap();
    let paths: Vec<&str> = listing.as_array().unwrap().iter().filter_map(|e| e["path"].as_str()).collect();
    assert_eq!(paths, vec!["/opaque", "/opaque/new"]);
    let table = stdout(&run_ok(pare.cmd().arg("ls").arg(&src).arg("/usr/bin")));
    assert!(table.contains("rwsr-xr-x") && table.contains("/usr/bin/sh -> /bin/false"), "{table}");
    let shallow = stdout(&run_ok(pare.cmd().args(["ls", "-d"]).arg(&src).arg("/")));
    assert!(shallow.lines().any(|l| l.ends_with(" /usr")) && !shallow.contains("/usr/bin"), "{shallow}");
    let missing = run_err(pare.cmd().arg("ls").arg(&src).arg("/nowhere"));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("`/nowhere` not found"), "{missing:?}");

    // A plain directory is read wherever an image is (issue 11): `pare ls ./rootfs`, `pare inspect ./rootfs`.
    let rootfs = tmp.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::write(rootfs.join("etc/hostname"), "box\n").unwrap();
    let listing = stdout(&run_ok(pare.cmd().arg("ls").arg(&rootfs)));
    assert!(listing.contains("/etc/hostname"), "{listing}");
    let cat = run_ok(pare.cmd().arg("cat").arg(&rootfs).arg("/etc/hostname"));
    assert_eq!(cat.stdout, b"box\n");
    run_ok(pare.cmd().arg("inspect").arg(&rootfs));
}

#[test]
fn corrupt_blobs_are_named_and_nothing_is_written() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    write_layered(&layout, "layered");
    let src = format!("oci:{}:layered", layout.display());
    let report: serde_json::Value =
        serde_json::from_slice(&run_ok(pare.cmd().args(["inspect", "--format", "json"]).arg(&src)).stdout).unwrap();
    let layer = report["images"][0]["layers"][0]["digest"].as_str().unwrap().to_string();
    let path = layout.join("blobs/sha256").join(layer.trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();

    let dst = tmp.path().join("dst");
    let err = run_err(pare.cmd().arg("copy").arg(&src).arg(format!("oci:{}:x", dst.display())));
    assert_eq!(err.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&err.stderr).contains(&layer), "{}", String::from_utf8_lossy(&err.stderr));
    assert!(!dst.join("blobs/sha256").join(layer.trim_start_matches("sha256:")).exists(), "a corrupt blob was kept");
    assert!(!dst.join("index.json").exists(), "index.json was written for an incomplete copy");

    let err = run_err(pare.cmd().arg("unpack").arg(&src).arg(tmp.path().join("rootfs")));
    assert!(String::from_utf8_lossy(&err.stderr).contains(&layer[..19]), "{}", String::from_utf8_lossy(&err.stderr));

    // Truncated: a blob shorter than its descriptor says.
    std::fs::write(&path, &bytes[..mid]).unwrap();
    let err =
        run_err(pare.cmd().arg("copy").arg(&src).arg(format!("oci-archive:{}", tmp.path().join("t.tar").display())));
    assert!(String::from_utf8_lossy(&err.stderr).contains("expected"), "{}", String::from_utf8_lossy(&err.stderr));
    assert!(!tmp.path().join("t.tar").exists());
}

#[test]
fn bad_locations_and_manifests_get_clear_errors() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    // A path is never a registry reference: a missing one is "no such file".
    let err = run_err(pare.cmd().arg("inspect").arg("/not/a/location"));
    assert_eq!(err.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(stderr.contains("`/not/a/location`: no such file or directory"), "{stderr}");
    let err = run_err(pare.cmd().arg("inspect").arg("Bad Ref"));
    assert!(String::from_utf8_lossy(&err.stderr).contains("hint: use oci:DIR"));
    let err = run_err(pare.cmd().arg("inspect").arg(format!("oci:{}", tmp.path().display())));
    assert!(String::from_utf8_lossy(&err.stderr).contains("oci-layout"));

    // A manifest that claims to be an index, and one missing its layers.
    let layout = tmp.path().join("layout");
    write_layered(&layout, "layered");
    let index = pare_oci::read_index(&layout).unwrap();
    let desc = index.manifests()[0].clone();
    let blob = pare_oci::blob_path(&layout, desc.digest());
    let original = std::fs::read(&blob).unwrap();
    for (mutation, expect) in
        [(r#""mediaType":"application/vnd.oci.image.index.v1+json""#, "mediaType"), (r#""layerz""#, "layers")]
    {
        let text = String::from_utf8(original.clone()).unwrap();
        let broken = if expect == "mediaType" {
            text.replace(r#""mediaType":"application/vnd.oci.image.manifest.v1+json""#, mutation)
        } else {
            text.replace(r#""layers""#, mutation)
        };
        assert_ne!(broken, text);
        // Rewrite the layout so the descriptor matches the broken manifest: the digest is right,
        // the content is wrong.
        let digest = pare_oci::sha256(broken.as_bytes());
        std::fs::write(pare_oci::blob_path(&layout, &digest), &broken).unwrap();
        let index_json = std::fs::read_to_string(layout.join("index.json")).unwrap();
        let fixed = index_json
            .replace(&desc.digest().to_string(), digest.as_ref())
            .replace(&format!("\"size\":{}", desc.size()), &format!("\"size\":{}", broken.len()));
        let broken_layout = tmp.path().join(format!("broken-{expect}"));
        std::fs::create_dir_all(&broken_layout).unwrap();
        run_ok(
            Command::new("cp").arg("-r").arg(layout.join("blobs")).arg(layout.join("oci-layout")).arg(&broken_layout),
        );
        std::fs::write(broken_layout.join("index.json"), fixed).unwrap();
        let err = run_err(pare.cmd().arg("inspect").arg(format!("oci:{}:layered", broken_layout.display())));
        let stderr = String::from_utf8_lossy(&err.stderr);
        assert!(stderr.contains(expect) && stderr.contains(&digest.to_string()), "{stderr}");
    }
}

/// Unpacks a location with pare and returns the tree.
fn tree_of(pare: &Pare, location: &str, tmp: &Path, name: &str) -> Vec<pare_test::tools::TreeEntry> {
    let dir = tmp.join(format!("tree-{name}"));
    run_ok(pare.cmd().arg("unpack").arg(location).arg(&dir));
    tree(&dir)
}

#[test]
fn reads_layers_umoci_writes_without_a_tar_trailer() {
    let pare = Pare::new(crate::PARE);
    // umoci 0.4.7 `insert` ends its layer right after the last file's data: no padding, no
    // end-of-archive blocks. GNU tar calls that truncated; Go's reader (and so Docker) accepts it.
    let umoci = require("umoci");
    let tmp = tempfile::tempdir().unwrap();
    let content = tmp.path().join("content");
    std::fs::create_dir_all(&content).unwrap();
    std::fs::write(content.join("odd-size"), vec![b'x'; 700]).unwrap();
    let layout = tmp.path().join("layout");
    run_ok(Command::new(&umoci).args(["init", "--layout"]).arg(&layout));
    run_ok(Command::new(&umoci).args(["new", "--image"]).arg(format!("{}:t", layout.display())));
    run_ok(
        Command::new(&umoci)
            .args(["insert", "--image"])
            .arg(format!("{}:t", layout.display()))
            .arg(&content)
            .arg("/data"),
    );
    let bundle = tmp.path().join("bundle");
    run_ok(Command::new(&umoci).arg("unpack").arg("--image").arg(format!("{}:t", layout.display())).arg(&bundle));
    let ours = tmp.path().join("ours");
    let out = run_ok(
        pare.cmd()
            .args(["unpack", "--keep-setid", "--allow-devices"])
            .arg(format!("oci:{}:t", layout.display()))
            .arg(&ours),
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("end-of-archive"),
        "the user is told about the missing trailer"
    );
    assert_eq!(tree(&ours), tree(&bundle.join("rootfs")));
    assert_eq!(std::fs::read(ours.join("data/odd-size")).unwrap().len(), 700);
}

#[test]
fn truncated_and_garbage_archives_get_clear_errors() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    write_layered(&layout, "layered");
    let src = format!("oci:{}:layered", layout.display());
    for (transport, name) in [("oci-archive", "layered"), ("docker-archive", "example.com/layered:1")] {
        let archive = tmp.path().join(format!("{transport}.tar"));
        run_ok(pare.cmd().arg("copy").arg(&src).arg(format!("{transport}:{}:{name}", archive.display())));
        let bytes = std::fs::read(&archive).unwrap();
        for (label, broken) in [("truncated", bytes[..bytes.len() * 2 / 3].to_vec()), ("garbage", vec![0x5a; 4096])] {
            let path = tmp.path().join(format!("{transport}-{label}.tar"));
            std::fs::write(&path, broken).unwrap();
            let dst = tmp.path().join(format!("out-{transport}-{label}"));
            let err = run_err(
                pare.cmd()
                    .arg("copy")
                    .arg(format!("{transport}:{}", path.display()))
                    .arg(format!("oci:{}:x", dst.display())),
            );
            let stderr = String::from_utf8_lossy(&err.stderr);
            assert_eq!(err.status.code(), Some(2), "{transport} {label}: {stderr}");
            assert!(stderr.starts_with("error: "), "{transport} {label}: {stderr}");
            assert!(!stderr.contains("panicked"), "{transport} {label}: {stderr}");
            assert!(!dst.join("index.json").exists(), "{transport} {label}: an incomplete copy was named");
        }
    }
}

/// A bad `SOURCE_DATE_EPOCH` is an error (exit 2, naming the variable) for every verb, never ignored:
/// the layer writer used to fall back to 0 while other verbs refused it (issue 11).
#[test]
fn a_bad_source_date_epoch_is_an_error_for_every_verb() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = tmp.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::write(rootfs.join("etc/hostname"), "box\n").unwrap();
    let dir = format!("dir:{}", rootfs.display());
    let layout = format!("oci:{}", tmp.path().join("out").display());
    let vex = tmp.path().join("t.openvex.json");
    let verbs: Vec<Vec<String>> = vec![
        vec!["copy".into(), dir.clone(), layout.clone()],
        vec!["sbom".into(), dir.clone(), "--format".into(), "spdx-json".into()],
        vec!["unpack".into(), dir.clone(), tmp.path().join("x").display().to_string()],
        vec![
            "vex".into(),
            "--vulnerability".into(),
            "CVE-2026-1".into(),
            "--product".into(),
            "pkg:deb/debian/x".into(),
            "--status".into(),
            "fixed".into(),
            "--file".into(),
            vex.display().to_string(),
        ],
    ];
    for value in ["yesterday", "-5", "1e9", "99999999999999"] {
        for args in &verbs {
            let out = run_err(pare.cmd().args(args).env("SOURCE_DATE_EPOCH", value));
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?} {value}: {err}");
            assert!(err.contains("SOURCE_DATE_EPOCH") && err.contains(value), "{args:?}: {err}");
        }
    }
    assert!(!tmp.path().join("out").exists() && !vex.exists() && !tmp.path().join("x").exists());
    // A valid value is used; an empty one is as unset.
    run_ok(pare.cmd().args(&verbs[0]).env("SOURCE_DATE_EPOCH", "1700000000"));
    run_ok(pare.cmd().args(&verbs[1]).env("SOURCE_DATE_EPOCH", ""));
}

/// Runs pare with this umask (through `sh`, which sets it before exec).
fn pare_with_umask(pare: &Pare, umask: &str, args: &[String]) -> std::process::Output {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(format!("umask {umask} && exec \"$0\" \"$@\"")).arg(pare.bin()).args(args);
    pare.apply(&mut cmd);
    run_ok(&mut cmd)
}

/// Files pare writes for the user get 0666 less the umask, as `cp` or skopeo give them, not 0600.
#[test]
fn output_files_honour_the_umask() {
    let pare = Pare::new(crate::PARE);
    use std::os::unix::fs::PermissionsExt;
    let src = format!("dir:{}", fixtures().join("hello-rootfs").display());
    for (umask, expected) in [("022", 0o644), ("027", 0o640)] {
        let tmp = tempfile::tempdir().unwrap();
        let layout = tmp.path().join("layout");
        let oci_archive = tmp.path().join("app-oci.tar");
        let docker_archive = tmp.path().join("app-docker.tar");
        let sbom = tmp.path().join("app.spdx.json");
        pare_with_umask(&pare, umask, &["copy".into(), src.clone(), format!("oci:{}:app", layout.display())]);
        pare_with_umask(&pare, umask, &["copy".into(), src.clone(), format!("oci-archive:{}", oci_archive.display())]);
        pare_with_umask(
            &pare,
            umask,
            &["copy".into(), src.clone(), format!("docker-archive:{}:app:1", docker_archive.display())],
        );
        pare_with_umask(
            &pare,
            umask,
            &[
                "sbom".into(),
                src.clone(),
                "--format".into(),
                "spdx-json".into(),
                "--output".into(),
                sbom.display().to_string(),
            ],
        );
        let mut files = vec![layout.join("index.json"), layout.join("oci-layout"), oci_archive, docker_archive, sbom];
        for blob in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
            files.push(blob.unwrap().path());
        }
        for file in files {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, expected, "umask {umask}: {} is {mode:o}", file.display());
        }
    }
}

/// The per-file cap is an option, and the error names it.
#[test]
fn max_file_size_is_an_option_and_the_error_names_it() {
    let pare = Pare::new(crate::PARE);
    let src = format!("dir:{}", fixtures().join("hello-rootfs").display());
    let err = run_err(pare.cmd().args(["cat", "--max-file-size", "4"]).arg(&src).arg("/usr/bin/greeting"));
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert_eq!(err.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("exceeds the limit of 4") && stderr.contains("--max-file-size"), "{stderr}");
    let out = run_ok(pare.cmd().args(["cat", "--max-file-size", "1000"]).arg(&src).arg("/usr/bin/greeting"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello, pare.\n");
    let tmp = tempfile::tempdir().unwrap();
    let err = run_err(pare.cmd().args(["unpack", "--max-file-size", "4"]).arg(&src).arg(tmp.path().join("rootfs")));
    assert!(String::from_utf8_lossy(&err.stderr).contains("--max-file-size"));
    assert!(!tmp.path().join("rootfs").exists());
}

/// A Docker archive holds its layers uncompressed: its size is capped, with a clear error.
#[test]
fn docker_archive_size_is_capped() {
    let pare = Pare::new(crate::PARE);
    let src = format!("dir:{}", fixtures().join("hello-rootfs").display());
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("app.tar");
    let err = run_err(
        pare.cmd().args(["copy", "--max-size", "1000"]).arg(&src).arg(format!("docker-archive:{}", target.display())),
    );
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert_eq!(err.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("exceeds the limit of 1000") && stderr.contains("--max-size"), "{stderr}");
    assert!(!target.exists());
    run_ok(pare.cmd().arg("copy").arg(&src).arg(format!("docker-archive:{}", target.display())));
}
