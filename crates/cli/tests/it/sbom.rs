//! `pare sbom` on images built from this machine's real dpkg database, a distroless-style
//! `status.d` fixture and malformed input; SPDX and CycloneDX output checked by the official
//! validators (`pyspdxtools`, the CycloneDX JSON schema through cyclonedx-python-lib).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pare_test::Pare;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("running pare");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// Copies `/var/lib/dpkg/status`, os-release and, for a few packages, their file lists and
/// copyright files into a fresh rootfs, and packs it as an OCI layout. Returns the image location.
fn host_image(pare: &Pare, tmp: &Path, packages: &[&str]) -> String {
    let status = fs::read("/var/lib/dpkg/status").expect("this test needs a Debian machine's /var/lib/dpkg/status");
    let root = tmp.join("rootfs");
    write(&root.join("var/lib/dpkg/status"), status);
    write(&root.join("etc/os-release"), fs::read("/etc/os-release").expect("/etc/os-release"));
    for p in packages {
        let list = Path::new("/var/lib/dpkg/info").join(format!("{p}.list"));
        if let Ok(bytes) = fs::read(&list) {
            write(&root.join(format!("var/lib/dpkg/info/{p}.list")), bytes);
        }
        let copyright = Path::new("/usr/share/doc").join(p).join("copyright");
        if let Ok(bytes) = fs::read(&copyright) {
            write(&root.join(format!("usr/share/doc/{p}/copyright")), bytes);
        }
    }
    let layout = tmp.join("layout");
    run(pare
        .cmd()
        .arg("-q")
        .arg("copy")
        .arg(format!("dir:{}", root.display()))
        .arg(format!("oci:{}:host", layout.display())));
    format!("oci:{}:host", layout.display())
}

fn sbom(pare: &Pare, src: &str, format: &str) -> Output {
    run(pare.cmd().args(["sbom", src, "--format", format]))
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// Installed packages counted independently: paragraphs split at blank lines whose Status is
/// `install ok installed`.
fn installed_in_status(text: &str) -> BTreeSet<String> {
    text.split("\n\n")
        .filter(|p| p.lines().any(|l| l.trim_end() == "Status: install ok installed"))
        .filter_map(|p| {
            let name = p.lines().find_map(|l| l.strip_prefix("Package: "))?;
            let arch = p.lines().find_map(|l| l.strip_prefix("Architecture: ")).unwrap_or("");
            Some(format!("{name}:{arch}"))
        })
        .collect()
}

fn os_release_field(key: &str) -> Option<String> {
    let text = fs::read_to_string("/etc/os-release").ok()?;
    text.lines().find_map(|l| l.strip_prefix(&format!("{key}="))).map(|v| v.trim_matches('"').to_string())
}

fn package<'a>(inventory: &'a Value, name: &str) -> &'a Value {
    inventory["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("package {name} not in the inventory"))
}

#[test]
fn host_dpkg_database() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let src = host_image(&pare, tmp.path(), &["bash", "base-files", "coreutils", "dpkg"]);
    let inventory = json(&sbom(&pare, &src, "json"));

    let expected = installed_in_status(&fs::read_to_string("/var/lib/dpkg/status").unwrap());
    let found: BTreeSet<String> = inventory["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}:{}", p["name"].as_str().unwrap(), p["architecture"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(found, expected);
    assert_eq!(inventory["packages"].as_array().unwrap().len(), expected.len());

    let distro = format!("{}-{}", os_release_field("ID").unwrap(), os_release_field("VERSION_ID").unwrap());
    assert_eq!(inventory["os"]["id"], os_release_field("ID").unwrap());
    let bash = package(&inventory, "bash");
    let purl = bash["purl"].as_str().unwrap();
    assert!(purl.starts_with("pkg:deb/debian/bash@"), "{purl}");
    assert!(purl.contains(&format!("distro={distro}")), "{purl}");
    assert!(purl.contains(&format!("arch={}", bash["architecture"].as_str().unwrap())), "{purl}");
    assert!(inventory["subject"]["digest"].as_str().unwrap().starts_with("sha256:"));
    // bash.list names its copyright file, which is in the image (when this machine has both).
    let listed = fs::read_to_string("/var/lib/dpkg/info/bash.list")
        .is_ok_and(|l| l.lines().any(|p| p == "/usr/share/doc/bash/copyright"));
    if listed && Path::new("/usr/share/doc/bash/copyright").is_file() {
        assert_eq!(bash["files"], serde_json::json!(["/usr/share/doc/bash/copyright"]), "{bash}");
    }
    assert_eq!(bash["locations"][0]["path"], "/var/lib/dpkg/status");

    // Licenses: DEP-5 files give SPDX identifiers; other files give NOASSERTION only.
    for name in ["bash", "base-files", "coreutils", "dpkg"] {
        let Ok(text) = fs::read_to_string(format!("/usr/share/doc/{name}/copyright")) else { continue };
        let licenses: Vec<&str> =
            package(&inventory, name)["licenses"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
        if text.starts_with("Format:") {
            assert!(licenses.iter().any(|l| *l != "NOASSERTION"), "{name}: {licenses:?}");
        } else {
            assert_eq!(licenses, ["NOASSERTION"], "{name} has no machine-readable copyright file");
        }
    }
    if fs::read_to_string("/usr/share/doc/bash/copyright").is_ok_and(|t| t.starts_with("Format:")) {
        let licenses = &package(&inventory, "bash")["licenses"];
        assert!(licenses.as_array().unwrap().iter().any(|l| l == "GPL-3.0-or-later"), "{licenses}");
    }

    // Packages without a copyright file in the image are not asserted.
    let other = inventory["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| !["bash", "base-files", "coreutils", "dpkg"].contains(&p["name"].as_str().unwrap()))
        .unwrap();
    assert_eq!(other["licenses"], serde_json::json!(["NOASSERTION"]));

    // Table output names every package.
    let table = String::from_utf8(sbom(&pare, &src, "table").stdout).unwrap();
    assert_eq!(table.lines().count(), expected.len() + 1);
    assert!(table.starts_with("NAME"));
}

#[test]
fn output_is_deterministic() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let src = host_image(&pare, tmp.path(), &["bash"]);
    for format in ["spdx-json", "cyclonedx-json", "cyclonedx-1.5-json", "json", "table"] {
        let a = sbom(&pare, &src, format).stdout;
        let b = sbom(&pare, &src, format).stdout;
        assert_eq!(a, b, "{format}: two runs differ");
    }
    let out = tmp.path().join("out.spdx.json");
    let with_epoch = |path: &Path| {
        run(pare
            .cmd()
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .args(["sbom", &src, "--format", "spdx-json", "--output"])
            .arg(path));
        fs::read(path).unwrap()
    };
    let first = with_epoch(&out);
    let second = with_epoch(&tmp.path().join("again.json"));
    assert_eq!(first, second);
    let doc: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(doc["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    let digest = json(&sbom(&pare, &src, "json"))["subject"]["digest"].as_str().unwrap().to_string();
    let hex = digest.strip_prefix("sha256:").unwrap();
    assert!(doc["documentNamespace"].as_str().unwrap().ends_with(hex));
    let ids: Vec<&str> = doc["packages"].as_array().unwrap().iter().map(|p| p["SPDXID"].as_str().unwrap()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "SPDXIDs are unique");
}

/// A distroless-style image: one file per package in `status.d` (no `Status` field), with
/// `.md5sums` beside them, and junk that must only warn.
#[test]
fn distroless_status_d_and_bad_input() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("rootfs");
    write(&root.join("etc/os-release"), "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Distroless\"\n");
    write(
        &root.join("var/lib/dpkg/status.d/libssl3"),
        "Package: libssl3\nVersion: 3.0.15-1~deb12u1\nArchitecture: amd64\nSource: openssl\nMaintainer: x\n",
    );
    write(
        &root.join("var/lib/dpkg/status.d/libssl3.md5sums"),
        "d41d8cd98f00b204e9800998ecf8427e  usr/lib/x86_64-linux-gnu/libssl.so.3\n",
    );
    write(&root.join("usr/lib/x86_64-linux-gnu/libssl.so.3"), "not really");
    write(&root.join("var/lib/dpkg/status.d/tzdata"), "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n");
    write(
        &root.join("usr/share/doc/libssl3/copyright"),
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: Apache-2.0\n",
    );
    write(
        &root.join("var/lib/dpkg/status.d/zlib1g"),
        "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\nSource: zlib (1:1.2.13.dfsg-1)\nArchitecture: amd64\n\nbroken line without a colon\n\n\u{1}\u{2}\u{3}\n",
    );
    let mut junk = b"Package: junk\nVersion: 1\n\n".to_vec();
    junk.extend([0xff, 0xfe, 0x00, 0x80, b'\n']);
    write(&root.join("var/lib/dpkg/status.d/junk"), junk);
    // A copyright file over the 8 MiB cap: skipped with a warning, not read.
    write(&root.join("usr/share/doc/tzdata/copyright"), vec![b'x'; 9 << 20]);
    let layout = tmp.path().join("layout");
    run(pare
        .cmd()
        .arg("-q")
        .arg("copy")
        .arg(format!("dir:{}", root.display()))
        .arg(format!("oci:{}:d", layout.display())));

    let src = format!("oci:{}:d", layout.display());
    let out = sbom(&pare, &src, "json");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken line"), "a warning for the malformed paragraph: {stderr}");
    assert!(stderr.contains("not UTF-8"), "a warning for binary junk: {stderr}");
    assert!(stderr.contains("/usr/share/doc/tzdata/copyright: 9437184 bytes, larger than"), "{stderr}");
    let inventory = json(&out);
    let names: Vec<&str> =
        inventory["packages"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["junk", "libssl3", "tzdata", "zlib1g"]);
    let ssl = package(&inventory, "libssl3");
    assert_eq!(ssl["purl"], "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl");
    assert_eq!(ssl["source_name"], "openssl");
    assert_eq!(ssl["source_version"], "3.0.15-1~deb12u1");
    assert_eq!(ssl["licenses"], serde_json::json!(["Apache-2.0"]));
    assert_eq!(ssl["files"], serde_json::json!(["/usr/lib/x86_64-linux-gnu/libssl.so.3"]));
    assert_eq!(ssl["locations"][0]["path"], "/var/lib/dpkg/status.d/libssl3");
    let zlib = package(&inventory, "zlib1g");
    assert_eq!(zlib["source_name"], "zlib");
    assert_eq!(zlib["purl"], "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib");
    assert_eq!(
        package(&inventory, "tzdata")["purl"],
        "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12"
    );
    assert_eq!(package(&inventory, "tzdata")["licenses"], serde_json::json!(["NOASSERTION"]));

    // The malformed main status file: the good paragraphs around the bad one are kept.
    let root2 = tmp.path().join("rootfs2");
    write(
        &root2.join("var/lib/dpkg/status"),
        "Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\nStatus: install ok installed\nthis line has no colon\n\n\
         Package: c\nStatus: install ok installed\nVersion: not a version!\n\n\
         Package: d\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: e\nStatus: install ok installed\nVersion: 2\n",
    );
    let out = sbom(&pare, &format!("dir:{}", root2.display()), "json");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let names: Vec<String> =
        json(&out)["packages"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["a", "e"]);
    assert!(stderr.contains("this line has no colon"), "{stderr}");
    assert!(stderr.contains("bad version"), "{stderr}");
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().to_path_buf()
}

/// A venv under target/ with `packages` installed (created on first use; scripts/system-deps.sh
/// creates it too). Fails with a clear message when pip cannot install.
fn venv(name: &str, packages: &[&str], check: &str) -> PathBuf {
    let dir = target_dir().join(name);
    let python = dir.join("bin/python");
    let ok = |py: &Path| Command::new(py).args(["-c", check]).output().is_ok_and(|o| o.status.success());
    if ok(&python) {
        return dir;
    }
    let created = Command::new("python3").arg("-m").arg("venv").arg(&dir).output();
    assert!(
        created.as_ref().is_ok_and(|o| o.status.success()),
        "cannot create the venv {} (install python3-venv, or run scripts/system-deps.sh): {created:?}",
        dir.display()
    );
    let pip = Command::new(dir.join("bin/pip")).arg("install").arg("-q").args(packages).output();
    assert!(
        pip.as_ref().is_ok_and(|o| o.status.success()),
        "`pip install {}` failed; the validators are needed (run scripts/system-deps.sh): {pip:?}",
        packages.join(" ")
    );
    assert!(ok(&python), "{} was installed but `{check}` fails", packages.join(" "));
    dir
}

const CDX_VALIDATE: &str = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
version = {"1.6": SchemaVersion.V1_6, "1.5": SchemaVersion.V1_5}[sys.argv[1]]
errors = JsonStrictValidator(version).validate_str(open(sys.argv[2]).read())
if errors is not None:
    print(errors)
    sys.exit(1)
print("valid")
"#;

#[test]
fn validated_by_official_tools() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let src = host_image(&pare, tmp.path(), &["bash", "base-files", "coreutils", "dpkg", "zlib1g", "tar"]);
    let spdx_venv = venv("venv-spdx", &["spdx-tools"], "import spdx_tools");
    let cdx_venv = venv("venv-cdx", &["cyclonedx-python-lib[json-validation]"], "import cyclonedx, jsonschema");

    let spdx = tmp.path().join("sbom.spdx.json");
    run(pare.cmd().args(["sbom", &src, "--format", "spdx-json", "--output"]).arg(&spdx));
    let out = Command::new(spdx_venv.join("bin/pyspdxtools")).arg("-i").arg(&spdx).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && !text.contains("invalid"), "pyspdxtools rejects pare's SPDX: {text}");
    // CPEs where NVD's naming is established (bash, tar, zlib), none for the others.
    let doc: Value = serde_json::from_slice(&fs::read(&spdx).unwrap()).unwrap();
    let cpe_of = |name: &str| -> Vec<String> {
        let p = doc["packages"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap();
        p["externalRefs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["referenceType"] == "cpe23Type")
            .map(|r| r["referenceLocator"].as_str().unwrap().to_string())
            .collect()
    };
    let bash = cpe_of("bash");
    assert_eq!(bash.len(), 1);
    assert!(bash[0].starts_with("cpe:2.3:a:gnu:bash:") && bash[0].ends_with(":*:*:*:*:*:*:*"), "{bash:?}");
    assert!(cpe_of("zlib1g")[0].starts_with("cpe:2.3:a:zlib:zlib:"), "{:?}", cpe_of("zlib1g"));
    assert!(cpe_of("base-files").is_empty());

    let script = tmp.path().join("validate.py");
    fs::write(&script, CDX_VALIDATE).unwrap();
    for (format, version) in [("cyclonedx-json", "1.6"), ("cyclonedx-1.5-json", "1.5")] {
        let file = tmp.path().join(format!("sbom.{version}.cdx.json"));
        run(pare.cmd().args(["sbom", &src, "--format", format, "--output"]).arg(&file));
        let doc: Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
        assert_eq!(doc["specVersion"], version);
        assert_eq!(doc["metadata"]["component"]["type"], "container");
        let tar = doc["components"].as_array().unwrap().iter().find(|c| c["name"] == "tar").unwrap();
        assert!(tar["cpe"].as_str().unwrap().starts_with("cpe:2.3:a:gnu:tar:"), "{tar}");
        let out = Command::new(cdx_venv.join("bin/python")).arg(&script).arg(version).arg(&file).output().unwrap();
        assert!(
            out.status.success(),
            "CycloneDX {version} schema rejects pare's output: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The validators do reject bad documents.
    let bad = tmp.path().join("bad.json");
    let text = fs::read_to_string(tmp.path().join("sbom.1.6.cdx.json")).unwrap().replace("\"library\"", "\"bogus\"");
    fs::write(&bad, text).unwrap();
    let out = Command::new(cdx_venv.join("bin/python")).arg(&script).arg("1.6").arg(&bad).output().unwrap();
    assert!(!out.status.success(), "the CycloneDX validator accepted a bad type");
}

/// `pare sbom` with its own cache directory.
fn sbom_cached(pare: &Pare, cache: &Path, src: &str) -> Output {
    pare.cmd().env("PARE_CACHE_DIR", cache).args(["sbom", src, "--format", "json"]).output().expect("running pare")
}

/// The blob file of an OCI layout's (one) image's first layer.
fn first_layer_blob(layout: &Path) -> PathBuf {
    let blob = |digest: &str| layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:"));
    let index: Value = serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest: Value =
        serde_json::from_slice(&fs::read(blob(index["manifests"][0]["digest"].as_str().unwrap())).unwrap()).unwrap();
    blob(manifest["layers"][0]["digest"].as_str().unwrap())
}

/// A layer the per-layer inventory cache knows must still be there as the manifest says: a missing or
/// cut-off OCI blob and a swapped Docker archive layer (whose digest is the config's diff ID, taken on
/// trust) are errors on a warm run exactly as on a cold one, never an inventory from the cache.
#[test]
fn a_bad_layer_is_an_error_warm_as_cold() {
    let pare = Pare::new(crate::PARE);
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = |name: &str, package: &str| {
        let root = tmp.path().join(name);
        write(&root.join("etc/os-release"), "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n");
        write(
            &root.join(format!("var/lib/dpkg/status.d/{package}")),
            format!("Package: {package}\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: x\n"),
        );
        format!("dir:{}", root.display())
    };
    let copy = |from: &str, to: &str| run(pare.cmd().args(["-q", "copy", from, to]));
    // Damages an image after a run filled the cache; the warm run and a cold one must both fail.
    let check = |what: &str, src: &str, damage: &dyn Fn()| {
        let cache = tmp.path().join(format!("cache-{what}"));
        let out = sbom_cached(&pare, &cache, src);
        assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        damage();
        let warm = sbom_cached(&pare, &cache, src);
        assert_eq!(warm.status.code(), Some(2), "{what}, warm: {}", String::from_utf8_lossy(&warm.stdout));
        let cold = sbom_cached(&pare, &tmp.path().join(format!("cold-{what}")), src);
        assert_eq!(cold.status.code(), Some(2), "{what}, cold");
        String::from_utf8_lossy(&warm.stderr).into_owned()
    };

    let layout = tmp.path().join("missing");
    copy(&rootfs("a", "alpha"), &format!("oci:{}:t", layout.display()));
    let blob = first_layer_blob(&layout);
    let err = check("missing", &format!("oci:{}:t", layout.display()), &|| fs::remove_file(&blob).unwrap());
    assert!(err.contains("sha256:"), "the error names the blob: {err}");

    let layout = tmp.path().join("truncated");
    copy(&rootfs("a", "alpha"), &format!("oci:{}:t", layout.display()));
    let blob = first_layer_blob(&layout);
    check("truncated", &format!("oci:{}:t", layout.display()), &|| {
        let bytes = fs::read(&blob).unwrap();
        fs::write(&blob, &bytes[..bytes.len() / 2]).unwrap();
    });

    // Another image's layer under this image's layer name, the archive packed again.
    let archive = tmp.path().join("swapped.tar");
    let other = tmp.path().join("other.tar");
    copy(&rootfs("a", "alpha"), &format!("docker-archive:{}", archive.display()));
    copy(&rootfs("b", "beta"), &format!("docker-archive:{}", other.display()));
    let unpack = |tar: &Path, dir: &Path| {
        fs::create_dir_all(dir).unwrap();
        assert!(Command::new("tar").arg("-xf").arg(tar).arg("-C").arg(dir).status().unwrap().success());
    };
    let layer_name = |dir: &Path| {
        let manifest: Value = serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        manifest[0]["Layers"][0].as_str().unwrap().to_string()
    };
    check("swapped", &format!("docker-archive:{}", archive.display()), &|| {
        let (mine, theirs) = (tmp.path().join("x-mine"), tmp.path().join("x-theirs"));
        unpack(&archive, &mine);
        unpack(&other, &theirs);
        fs::copy(theirs.join(layer_name(&theirs)), mine.join(layer_name(&mine))).unwrap();
        let packed = Command::new("tar").arg("-cf").arg(&archive).arg("-C").arg(&mine).arg(".").status().unwrap();
        assert!(packed.success());
    });
}

/// Makes `path` (a file, or a directory holding a file) and sets its mtime `age` ago.
fn leftover(path: &Path, dir: bool, age: &str) {
    if dir {
        write(&path.join("partial"), "half of something");
    } else {
        write(path, "half of something");
    }
    let touched = Command::new("touch").arg("-d").arg(age).arg(path).status().unwrap();
    assert!(touched.success());
}

/// Temporary files and directories of killed runs are removed by the next run that makes them when
/// they are over an hour old; younger ones (a run may be using them) stay.
#[test]
fn stale_temporaries_of_killed_runs_are_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let (temp_dir, cache, out) = (tmp.path().join("tmpdir"), tmp.path().join("cache"), tmp.path().join("out"));
    let root = tmp.path().join("rootfs");
    write(&root.join("etc/os-release"), "ID=debian\nVERSION_ID=\"12\"\n");
    fs::create_dir_all(&temp_dir).unwrap();
    let layout = out.join("layout");
    let pare = Pare::new(crate::PARE).with_cache(&cache);
    let sandboxed = || {
        let mut cmd = pare.cmd();
        cmd.env("TMPDIR", &temp_dir);
        cmd
    };
    run(sandboxed().args(["-q", "copy", &format!("dir:{}", root.display()), &format!("oci:{}:a", layout.display())]));
    run(sandboxed().args(["sbom", &format!("oci:{}:a", layout.display())]));
    let sbom_dir = fs::read_dir(cache.join("sbom-layers-v1")).unwrap().next().unwrap().unwrap().path().join("sha256");

    let old = [
        (temp_dir.join("pare-assemble-Ab12Cd"), true),
        (out.join(".pare-staging-Ab12Cd"), true),
        (out.join(".pare-tmp-Ab12Cd"), false),
        (layout.join("blobs/sha256/.pare-tmp-Ab12Cd"), false),
        (layout.join("blobs/sha256/.pare-link-99-abc"), false),
        (out.join(".rootfs.pare-unpack-00112233aabbccdd"), true),
        (sbom_dir.join(".pare-tmp-Ab12Cd"), false),
    ];
    let fresh: Vec<(PathBuf, bool)> = old
        .iter()
        .map(|(p, d)| (p.with_file_name(format!("{}-fresh", p.file_name().unwrap().to_str().unwrap())), *d))
        .collect();
    for (p, d) in &old {
        leftover(p, *d, "2 hours ago");
    }
    for (p, d) in &fresh {
        leftover(p, *d, "10 minutes ago");
    }
    // Not ours, however old.
    let foreign = out.join("notes-Ab12Cd.tmp");
    leftover(&foreign, false, "2 days ago");

    // dir: assembles in TMPDIR; an oci-archive stages beside it; a copy into the layout; an unpack; an SBOM.
    let src = format!("dir:{}", root.display());
    run(sandboxed().args(["-q", "copy", &src, &format!("oci-archive:{}", out.join("a.tar").display())]));
    run(sandboxed().args(["-q", "copy", &src, &format!("oci:{}:b", layout.display())]));
    run(sandboxed().args(["-q", "unpack", &format!("oci:{}:a", layout.display())]).arg(out.join("rootfs")));
    run(sandboxed().args(["sbom", &format!("oci:{}:a", layout.display())]));
    for (p, _) in &old {
        assert!(!p.exists(), "{} is left", p.display());
    }
    for (p, _) in &fresh {
        assert!(p.exists(), "{} was removed", p.display());
    }
    assert!(foreign.exists());
}
